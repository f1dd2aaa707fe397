/**
 * What the bot logs over the whole demo scenario (join, turns, barge-in, two people at once, a
 * mention, /instructions set, /leave) at LOG_LEVEL=debug: secrets never, at any level; instructions
 * and transcripts never at info or above; every guild-scoped line carries its guildId.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { startLocalStack, type LocalStack } from '../../scripts/localStack.ts';
import type { SimulatedMember } from '../../sim/discord/index.ts';
import { utterance } from '../../sim/speech.ts';
import { DEFAULT_INSTRUCTIONS } from '../../src/config.ts';
import { createLogger, REDACTED } from '../../src/log.ts';
import { eventually } from './helpers.ts';

const PIRATE = 'You are a pirate. Answer like one.';
const MENTION_TEXT = 'what have we talked about so far, matey?';
const INFO = 30;
/** A realistic-length key, so it would be noticed anywhere (the simulator's default is short). */
const REALTIME_KEY = 'sk-sim-3f9a1c7e5b2d4086af1e9c3b7d5a2e60';

/**
 * Lines about the process rather than one guild: they need no guildId. Everything else the bot logs
 * is about a guild (a command, a voice session, a model session, a mention) and must say which.
 */
const PROCESS_LEVEL = new Set([
  'starting',
  'database ready',
  'database connection lost; it will be replaced',
  'could not close the database cleanly',
  'logged in',
  'shutting down',
  'shutdown complete',
  'stopped',
  'gateway disconnected',
  'gateway resumed',
  'discord client error',
  'discord client warning',
  'discord rate limited',
  'discord.js debug',
  'unhandled rejection',
  'metrics endpoint listening',
  'metrics collection failed',
  'frame clock subscriber threw',
]);

/** Waits until the listener heard a reply after `after` that then went quiet for 400 ms. */
async function waitForReply(listener: SimulatedMember, after: number): Promise<void> {
  await listener.waitForAudio({ minMs: 100, timeoutMs: 20_000, after });
  await eventually(() => {
    const last = listener.heard().packets.filter((packet) => !packet.silence).at(-1);
    return last !== undefined && performance.now() - last.arrivalMs > 400;
  }, 'the reply to end', 20_000);
}

describe('logs over the demo scenario at LOG_LEVEL=debug', () => {
  let stack: LocalStack;
  let lines: Record<string, unknown>[];
  let raw: string[];
  let transcripts: string[];

  before(async () => {
    stack = await startLocalStack({ logLevel: 'debug', env: { ALONE_TIMEOUT_SECONDS: '30' }, realtime: { replyAudioMs: 2_000, apiKey: REALTIME_KEY } });
    const { discord } = stack;
    const guildId = discord.guildId;
    const [alice, bob, carol, owner] = ['Alice', 'Bob', 'Carol', 'Owner'].map((name) => discord.member(name)) as [SimulatedMember, SimulatedMember, SimulatedMember, SimulatedMember];
    await Promise.all([alice.joinVoice(), bob.joinVoice(), carol.joinVoice()]);
    const join = await alice.runCommand('join');
    assert.match(await join.waitForContent(20_000), /^Joined/);
    const session = stack.bot.context.sessions.voiceSession(guildId)!;

    // A turn.
    let spoken = await alice.speak(utterance(1.6, 10));
    await waitForReply(carol, spoken.endedAt);
    // A barge-in.
    spoken = await bob.speak(utterance(1.4, 21));
    await carol.waitForAudio({ minMs: 400, timeoutMs: 20_000, after: spoken.endedAt });
    const bargedIn = new Promise((resolve) => session.once('bargeIn', resolve));
    spoken = await alice.speak(utterance(1.8, 22));
    await bargedIn;
    await waitForReply(carol, spoken.endedAt);
    // Two at once.
    const both = await Promise.all([alice.speak(utterance(1.5, 30)), bob.speak(utterance(1.5, 31))]);
    await waitForReply(carol, Math.max(...both.map((result) => result.endedAt)));
    // A mention.
    const handled = new Promise<void>((resolve) => {
      const onHandled = ({ messageId }: { messageId: string }) => {
        if (messageId !== message.id) return;
        stack.bot.mentions.off('handled', onHandled);
        resolve();
      };
      stack.bot.mentions.on('handled', onHandled);
    });
    const message = await alice.say(MENTION_TEXT, { mentionBot: true });
    await message.waitForReply((reply) => reply.content.length > 0, 20_000);
    await handled; // the whole answer written
    // Instructions.
    const set = await owner.runCommand('instructions', { text: PIRATE }, 'set');
    await set.waitForContent(10_000);
    const conversation = stack.bot.context.sessions.conversation(guildId)!;
    transcripts = conversation.realtime.history.map((entry) => entry.text ?? '').filter((text) => text.length >= 12);
    // Leave.
    const leave = await alice.runCommand('leave');
    await leave.waitForContent(10_000);
    await eventually(() => discord.botVoiceChannel() === null, 'the bot to leave');
    await stack.restartBot(); // logs the stop as well
    raw = [...stack.logs];
    lines = raw.map((line) => JSON.parse(line) as Record<string, unknown>);
  });
  after(async () => {
    await stack?.close();
  });

  test('the scenario logged at debug (the check below has something to look at)', () => {
    assert.ok(lines.some((line) => (line.level as number) < INFO), 'debug lines were written');
    for (const msg of ['joined voice channel', 'reply stopped', 'left voice channel']) {
      assert.ok(lines.some((line) => line.msg === msg), `logged "${msg}"`);
    }
    assert.ok(transcripts.length >= 3, 'the conversation had transcripts to look for');
  });

  test('neither the Discord token nor the realtime API key appear in any line, at any level', () => {
    const token = stack.config.discord.token!;
    assert.equal(stack.config.realtime.apiKey, REALTIME_KEY);
    const secrets = [token, token.split('.').at(-1)!, REALTIME_KEY];
    assert.ok(secrets.every((secret) => secret.length >= 16));
    assert.ok(raw.some((line) => line.includes('Provided token')), 'discord.js printed its (censored) token line');
    for (const line of raw) for (const secret of secrets) assert.ok(!line.includes(secret), `a secret in: ${line.slice(0, 200)}`);
  });

  test('instructions and transcripts are not logged at info or above', () => {
    const needles = [PIRATE, DEFAULT_INSTRUCTIONS, DEFAULT_INSTRUCTIONS.slice(0, 40), MENTION_TEXT, ...transcripts];
    for (const line of raw) {
      const parsed = JSON.parse(line) as { level: number };
      if (parsed.level < INFO) continue;
      for (const needle of needles) assert.ok(!line.includes(needle), `"${needle}" logged at level ${parsed.level}: ${line.slice(0, 300)}`);
    }
  });

  test('every guild-scoped line carries the guildId', () => {
    const guildScoped = lines.filter((line) => !PROCESS_LEVEL.has(String(line.msg)));
    assert.ok(guildScoped.length >= 10, 'guild-scoped lines were written');
    const missing = guildScoped.filter((line) => line.guildId !== stack.discord.guildId);
    assert.deepEqual(missing.map((line) => line.msg), [], 'lines without the guildId');
  });
});

describe('secret scrubbing', () => {
  test('the logger removes configured secrets wherever they appear, and redacts secret fields', () => {
    const out: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        out.push(chunk.toString());
        done();
      },
    });
    const token = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz012345';
    const apiKey = 'sk-proj-0123456789abcdefghij';
    const logger = createLogger({ level: 'debug', destination, secrets: [token, apiKey, undefined, 'short'] });
    logger.info({ detail: `connecting with ${token}` }, 'message with a token');
    logger.warn({ err: `Incorrect API key provided: ${apiKey}` }, 'realtime error');
    logger.debug({ detail: 'Provided token: MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz012345'.replace(/\.[^.]+$/, '.abcdefghijklmnopqrstuvwxyz012345') }, 'x');
    logger.debug({ hmacOnly: 'abcdefghijklmnopqrstuvwxyz012345' }, 'the secret part alone');
    logger.info({ token: 'x', config: { realtime: { apiKey: 'y' } }, headers: { authorization: 'Bot z' } }, 'fields');
    logger.info({ note: 'short' }, 'short values are not treated as secrets');
    const text = out.join('');
    assert.ok(!text.includes(token) && !text.includes(apiKey) && !text.includes('abcdefghijklmnopqrstuvwxyz012345'));
    assert.equal(text.split(REDACTED).length - 1 >= 7, true);
    const fields = JSON.parse(out[4]!) as { token: string; config: { realtime: { apiKey: string } }; headers: { authorization: string } };
    assert.equal(fields.token, REDACTED);
    assert.equal(fields.config.realtime.apiKey, REDACTED);
    assert.equal(fields.headers.authorization, REDACTED);
    assert.match(out[5]!, /"note":"short"/);
  });

  test('URL credentials and secret query parameters are scrubbed from every line, even without configured secrets', () => {
    const out: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        out.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ level: 'debug', destination });
    logger.warn({ err: 'Invalid URL: wss://mallory:hunter2pass@example.com:44330/v1/realtime?model=gpt-realtime&api-key=sk-abcdef123456' }, 'a library echoing a URL');
    logger.info({ url: 'https://example.com/hook?X-Amz-Signature=deadbeefcafe&access_token=tok_9876543210&v=10' }, 'a field holding a URL');
    const text = out.join('');
    for (const secret of ['mallory', 'hunter2pass', 'sk-abcdef123456', 'deadbeefcafe', 'tok_9876543210']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    assert.match(text, /model=gpt-realtime/, 'harmless parameters are kept');
    assert.match(text, /v=10/);
    assert.match(text, /example\.com:44330/);
  });
});
