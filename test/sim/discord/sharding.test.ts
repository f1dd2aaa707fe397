/**
 * The local Discord routes guilds to shards as Discord does: a session that identifies with
 * `shard: [id, count]` gets READY/GUILD_CREATE and every later event only for the guilds with
 * `(guild_id >> 22) % count == id`; an impossible shard is refused with close 4010. Checked with two
 * real discord.js clients, one per shard, in one simulator.
 */
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { Client, Events, type ChatInputCommandInteraction, type Message } from 'discord.js';
import WebSocket from 'ws';
import { startDiscordSimulator, type DiscordSimulator } from '../../../sim/discord/index.ts';
import { eventually, INTENTS } from './helpers.ts';

/** Discord's rule, written out here rather than taken from the simulator. */
const owner = (guildId: string, count: number) => Number((BigInt(guildId) >> 22n) % BigInt(count));

describe('two shards of one bot on the local Discord', () => {
  let sim: DiscordSimulator;
  const clients: Client[] = [];

  before(async () => {
    sim = await startDiscordSimulator({ guilds: 4, recommendedShards: 2 });
    for (const id of [0, 1]) {
      const client = new Client({ intents: INTENTS, rest: { api: sim.rest }, shards: [id], shardCount: 2 });
      const ready = once(client, Events.ClientReady);
      await client.login(sim.token);
      await ready;
      clients.push(client);
    }
  });
  after(async () => {
    for (const client of clients) await client.destroy();
    await sim?.close();
  });

  test('GET /gateway/bot recommends the configured count', async () => {
    const response = await fetch(`${sim.rest}/v10/gateway/bot`, { headers: { authorization: `Bot ${sim.token}` } });
    assert.equal(((await response.json()) as { shards: number }).shards, 2);
  });

  test('each shard gets exactly the guilds (guild_id >> 22) % 2 assigns it, and both get some', () => {
    for (const id of [0, 1]) {
      const expected = sim.guilds.map((g) => g.guildId).filter((guildId) => owner(guildId, 2) === id).sort();
      assert.ok(expected.length > 0, `shard ${id} owns a guild`);
      assert.deepEqual([...clients[id]!.guilds.cache.keys()].sort(), expected, `shard ${id}`);
    }
  });

  test('a command and a mention in a guild reach only the shard that owns it', async () => {
    const received: { shard: number; what: string; guildId: string | null }[] = [];
    clients.forEach((client, shard) => {
      client.on(Events.InteractionCreate, (interaction) => {
        received.push({ shard, what: 'command', guildId: interaction.guildId });
        void (interaction as ChatInputCommandInteraction).reply('ok');
      });
      client.on(Events.MessageCreate, (message: Message) => {
        if (!message.author.bot) received.push({ shard, what: 'mention', guildId: message.guildId });
      });
    });
    for (const guild of sim.guilds) {
      await guild.member('Alice').runCommand('status');
      await guild.member('Bob').say('hello', { mentionBot: true });
    }
    await eventually(() => received.length === sim.guilds.length * 2, 'every event to arrive once');
    for (const event of received) assert.equal(event.shard, owner(event.guildId!, 2), `${event.what} in ${event.guildId} went to shard ${event.shard}`);
  });

  test('an impossible shard is refused with close 4010, as Discord does', async () => {
    const ws = new WebSocket(sim.gatewayUrl);
    await once(ws, 'message'); // Hello
    ws.send(JSON.stringify({ op: 2, d: { token: sim.token, intents: 1, shard: [2, 2], properties: { os: 'linux', browser: 'test', device: 'test' } } }));
    const [code] = (await once(ws, 'close')) as [number];
    assert.equal(code, 4010);
  });
});

test('N guilds cover every shard of N even when the clock ticks while they are created (a loaded machine)', async (t) => {
  // Every read of the clock advances it by a millisecond, as on a busy machine between two guilds.
  let now = Date.now();
  t.mock.method(Date, 'now', () => now++);
  const sim = await startDiscordSimulator({ guilds: 3 });
  try {
    t.mock.restoreAll();
    for (const count of [2, 3]) {
      const shards = new Set(sim.guilds.slice(0, count).map((guild) => owner(guild.guildId, count)));
      assert.equal(shards.size, count, `the first ${count} guilds on ${count} different shards of ${count}`);
    }
  } finally {
    await sim.close();
  }
});
