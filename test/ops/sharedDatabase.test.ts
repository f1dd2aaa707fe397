/**
 * Two machines of one sharded deployment sharing one PostgreSQL (issue 16.2): two sharding managers
 * (`src/sharding.ts`, SHARD_COUNT=2, SHARD_LIST=0 on one and 1 on the other), each forking its shard
 * process, started at the same moment on an empty database. Then the shard count changes to one
 * process serving every guild. Checked: the migrations run once in all; usage written by both adds up
 * (each sees the deployment's spend, its own and the other's); settings changed through each are seen
 * by the process that serves the guild after the re-sharding.
 * PostgreSQL comes from TEST_DATABASE_URL or a throw-away server (test/helpers/postgres.ts): without
 * one this test fails, it never skips.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { SimGuild } from '../../sim/discord/index.ts';
import { commands } from '../../commands/index.ts';
import { deployCommands } from '../../src/discord/deployCommands.ts';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import { testPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { eventually, spawnBot, startSimulators, type BotProcess, type Simulators } from './helpers.ts';

/** Dollars as the bot shows them (cents; four decimals below one cent), written out here on purpose. */
const dollars = (usd: number) => `$${usd > 0 && usd < 0.01 ? usd.toFixed(4) : usd.toFixed(2)}`;

describe('two shards of one deployment on one PostgreSQL', () => {
  let postgres: TestPostgres;
  let sims: Simulators;
  let databaseUrl: string;
  let guild0: SimGuild;
  let guild1: SimGuild;
  const processes: BotProcess[] = [];

  const env = (extra: Record<string, string>) => ({ ...sims.env, DATABASE_URL: databaseUrl, BUDGET_GLOBAL_DAILY_USD: '100', LOG_LEVEL: 'info', ...extra });
  const query = async <Row>(sql: string): Promise<Row[]> => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Row[];
    } finally {
      await client.end();
    }
  };
  /** Runs a command as the guild's owner (Manage Server) and returns the bot's answer. */
  const command = async (guild: SimGuild, name: string, options: Record<string, string | number> = {}, subcommand?: string) =>
    (await guild.member('Owner').runCommand(name, options, subcommand)).waitForContent(20_000);
  /** Asks by mention and waits for the whole answer. */
  const ask = async (guild: SimGuild, text: string) => {
    const message = await guild.member('Owner').say(text, { mentionBot: true });
    return message.waitForReply((reply) => reply.content.length > 0, 30_000);
  };
  /** Each guild's cost today, read from the database directly. */
  const costs = async () => {
    const rows = await query<{ guild_id: string; cost: string }>('SELECT guild_id, SUM(cost_usd) AS cost FROM usage_daily GROUP BY guild_id');
    return new Map(rows.map((row) => [row.guild_id, Number(row.cost)]));
  };

  before(async () => {
    postgres = await testPostgres();
    databaseUrl = await postgres.createDatabase();
    sims = await startSimulators({ discord: { guilds: 4 } });
    const onShard = (id: number) => sims.discord.guildsOfShard([id, 2])[0];
    guild0 = onShard(0)!;
    guild1 = onShard(1)!;
    assert.ok(guild0 && guild1, 'the simulator has a guild on each of two shards');
    for (const guild of [guild0, guild1]) {
      await deployCommands({ token: sims.discord.token, applicationId: sims.discord.applicationId, guildId: guild.guildId, api: sims.discord.rest }, commands);
    }
  });
  after(async () => {
    for (const bot of processes) bot.kill();
    await sims?.close();
    await postgres?.close();
  });

  test('two machines start at once on an empty database: every migration applied exactly once', async () => {
    const machines = [0, 1].map((shard) => spawnBot('src/sharding.ts', env({ SHARD_COUNT: '2', SHARD_LIST: String(shard) })));
    processes.push(...machines);
    await Promise.all(machines.map((machine, shard) => machine.waitForLog((line) => line.msg === 'all shards ready', `machine ${shard} ready`, 60_000)));
    const rows = await query<{ version: number; n: string }>('SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version ORDER BY version');
    assert.deepEqual(
      rows.map((row) => [Number(row.version), Number(row.n)]),
      MIGRATIONS.map((migration) => [migration.version, 1]),
    );
  });

  test('usage from both machines adds up: each sees the deployment spend, its own and the other one', async () => {
    await ask(guild0, 'hello from the first shard');
    await ask(guild1, 'hello from the second shard');
    // Usage is saved when the response is done, a moment after the answer is written.
    const byGuild = await eventually(async () => {
      const saved = await costs();
      return (saved.get(guild0.guildId) ?? 0) > 0 && (saved.get(guild1.guildId) ?? 0) > 0 && saved;
    }, "each machine to save its guild's usage", 20_000);
    const [cost0, cost1] = [byGuild.get(guild0.guildId)!, byGuild.get(guild1.guildId)!];
    const total = `**All servers today:** ${dollars(cost0 + cost1)} of $100.00`;
    // /budget show re-reads the database: shard 0 sees shard 1's spend and the other way round.
    assert.ok((await command(guild0, 'budget', {}, 'show')).includes(total), `shard 0 shows ${total}`);
    assert.ok((await command(guild1, 'budget', {}, 'show')).includes(total), `shard 1 shows ${total}`);
  });

  test("settings changed through each machine are seen by the one process serving every guild after re-sharding", async () => {
    assert.match(await command(guild0, 'budget', { usd: 3 }, 'daily'), /^Daily limit set to \$3\.00\./);
    assert.match(await command(guild1, 'budget', { usd: 7 }, 'daily'), /^Daily limit set to \$7\.00\./);
    assert.match(await command(guild1, 'instructions', { text: 'Answer like a pirate.' }, 'set'), /./);
    for (const machine of processes.splice(0)) {
      machine.child.kill('SIGTERM');
      assert.equal((await machine.exited).code, 0, machine.lines.slice(-10).join('\n'));
    }
    const single = spawnBot('main.ts', env({}));
    processes.push(single);
    await single.waitForLog((line) => line.msg === 'logged in', 'the single process logged in', 60_000);
    assert.match(await command(guild0, 'budget', {}, 'show'), /\*\*Spent today\*\* \(UTC\): \$\S+ of \$3\.00/);
    assert.match(await command(guild1, 'budget', {}, 'show'), /\*\*Spent today\*\* \(UTC\): \$\S+ of \$7\.00/);
    assert.match(await command(guild1, 'instructions', {}, 'show'), /Answer like a pirate\./);
  });
});
