/**
 * Secrets in URLs never leave the process (issue 18.5), on the real bot process (`main.ts`) against
 * the simulators: a REALTIME_URL carrying credentials is refused at start without echoing them; a key
 * in the URL's query never reaches a log line; a model failure is told to people in generic words
 * (the host, status and service message stay in the log).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { spawnBot, startSimulators, type Simulators } from './helpers.ts';

const PASSWORD = 'hunter2-0f9e8d7c6b5a';
const QUERY_KEY = 'sk-query-7d5a2e603f9a1c7e5b2d40';

describe('secrets in URLs', () => {
  let sims: Simulators;
  before(async () => {
    sims = await startSimulators();
  });
  after(async () => {
    await sims?.close();
  });

  test('a REALTIME_URL with credentials is refused at start (exit 78) and the message does not echo them', async () => {
    const { port } = new URL(sims.realtime.url);
    const url = `wss://mallory:${PASSWORD}@127.0.0.1:${port}/v1/realtime?api-key=${QUERY_KEY}`;
    const bot = spawnBot('main.ts', { ...sims.env, REALTIME_URL: url, LOG_LEVEL: 'debug' });
    const started = bot.waitForLog((line) => line.msg === 'logged in', 'the bot to log in').then(() => 'started' as const, () => 'exited' as const);
    const outcome = await Promise.race([bot.exited.then(() => 'exited' as const), started]);
    bot.kill();
    const exit = await bot.exited;
    const output = bot.lines.join('\n');
    assert.equal(outcome, 'exited', `the bot started with credentials in REALTIME_URL:\n${output.slice(-2_000)}`);
    assert.equal(exit.code, 78, `refused as a configuration error:\n${output}`);
    assert.match(output, /REALTIME_URL must not contain a user name or password/);
    assert.match(output, new RegExp(`wss://127\\.0\\.0\\.1:${port}/v1/realtime\\?…`), 'the URL is quoted without its secrets');
    for (const secret of ['mallory', PASSWORD, QUERY_KEY]) assert.ok(!output.includes(secret), `"${secret}" printed:\n${output}`);
  });

  test('a key in the query never reaches the logs; a refused /join says so in generic words', async () => {
    const url = `${sims.realtime.url}?api-key=${QUERY_KEY}`;
    const bot = spawnBot('main.ts', { ...sims.env, REALTIME_URL: url, REALTIME_API_KEY: 'sk-wrong-key-for-the-simulator', LOG_LEVEL: 'debug' });
    try {
      await bot.waitForLog((line) => line.msg === 'logged in', 'the bot to log in');
      const alice = sims.discord.member('Alice');
      await alice.joinVoice();
      const join = await alice.runCommand('join');
      const content = await join.waitForContent(20_000);
      assert.match(content, /^Couldn't join <#\d+>: the AI model service did not accept the bot's API key\.$/, content);
      assert.ok(!content.includes('127.0.0.1') && !content.includes('401'), `no host or status in the public reply: ${content}`);
      const status = await alice.runCommand('status');
      const shown = await status.waitForContent(10_000);
      assert.ok(!shown.includes('127.0.0.1') && !shown.includes(QUERY_KEY), shown);
      // The details are in the log, at warn.
      const failed = await bot.waitForLog((line) => line.msg === 'could not start the model conversation', 'the failure details in the log');
      assert.match(String(failed.err), /401/);
      const upgrade = sims.realtime.upgrades.at(-1);
      assert.ok(upgrade?.path.includes(QUERY_KEY), 'the bot did dial the URL with its key');
    } finally {
      bot.child.kill('SIGTERM');
      await bot.exited;
    }
    const output = bot.lines.join('\n');
    assert.ok(!output.includes(QUERY_KEY), 'the query key never reached stdout or stderr');
  });
});
