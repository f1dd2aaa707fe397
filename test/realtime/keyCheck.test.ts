/**
 * The start-up model-key check against the realtime simulator: accepted, refused at the HTTP upgrade,
 * refused after the upgrade (error invalid_api_key + close 3000), unreachable, silent. Nothing is sent
 * on the socket (nothing billed) and the key never reaches the log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { silentLogger } from '../../src/log.ts';
import { realtimeUrl } from '../../src/realtime/presets.ts';
import { checkModelKey, reportModelKeyCheck } from '../../src/realtime/keyCheck.ts';
import { startRealtimeSimulator, type RealtimeSimulator } from '../../sim/realtime/index.ts';
import { capturingLogger } from '../helpers/logs.ts';
import { eventually } from '../ops/helpers.ts';

describe('model key check at start', () => {
  let sim: RealtimeSimulator;
  let afterUpgrade: RealtimeSimulator;
  before(async () => {
    sim = await startRealtimeSimulator({ apiKey: 'sk-good-5b2d4086af1e9c3b' });
    afterUpgrade = await startRealtimeSimulator({ apiKey: 'sk-good-5b2d4086af1e9c3b', badKeyRefusal: 'after-upgrade' });
  });
  after(async () => {
    await sim.close();
    await afterUpgrade.close();
  });

  test('a good key is accepted; the check sends nothing and closes the session normally', async () => {
    const url = realtimeUrl(sim.url, 'gpt-realtime');
    const result = await checkModelKey({ url, dialect: 'ga', apiKey: sim.apiKey, logger: silentLogger });
    assert.equal(result.status, 'accepted');
    const session = sim.sessions.at(-1)!;
    assert.equal(session.model, 'gpt-realtime', 'the same URL as a conversation, model included');
    await eventually(() => session.closed, 'the check to close its session');
    assert.equal(session.closeCode, 1000);
    assert.deepEqual(sim.received.filter((entry) => entry.sessionId === session.id), [], 'no client event at all: no session.update, no audio, no response');
  });

  test('a key refused at the upgrade (HTTP 401)', async () => {
    const result = await checkModelKey({ url: realtimeUrl(sim.url, 'gpt-realtime'), dialect: 'ga', apiKey: 'sk-wrong', logger: silentLogger });
    assert.equal(result.status, 'refused');
    assert.equal(result.status === 'refused' && result.httpStatus, 401);
  });

  test('a key refused after the upgrade (error invalid_api_key, close 3000)', async () => {
    const result = await checkModelKey({ url: realtimeUrl(afterUpgrade.url, 'gpt-realtime'), dialect: 'ga', apiKey: 'sk-wrong', logger: silentLogger });
    assert.equal(result.status, 'refused', JSON.stringify(result));
    assert.equal(result.status === 'refused' && result.code, 'invalid_api_key');
    const good = await checkModelKey({ url: realtimeUrl(afterUpgrade.url, 'gpt-realtime'), dialect: 'ga', apiKey: afterUpgrade.apiKey, logger: silentLogger });
    assert.equal(good.status, 'accepted');
  });

  test('an unreachable service or one that says nothing: unknown, within the time limit', async () => {
    const unreachable = await checkModelKey({ url: 'ws://127.0.0.1:1/v1/realtime?model=gpt-realtime', dialect: 'ga', apiKey: 'k', logger: silentLogger });
    assert.equal(unreachable.status, 'unknown');
    assert.match(unreachable.status === 'unknown' ? unreachable.reason : '', /cannot reach 127\.0\.0\.1:1/);
    const silent = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => silent.once('listening', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const result = await checkModelKey({ url: `ws://127.0.0.1:${port}/v1/realtime?model=m`, dialect: 'ga', apiKey: 'k', logger: silentLogger, timeoutMs: 300 });
      assert.equal(result.status, 'unknown');
      assert.match(result.status === 'unknown' ? result.reason : '', /sent nothing within 300 ms/);
    } finally {
      for (const client of silent.clients) client.terminate();
      silent.close();
    }
  });

  test('the report: info when accepted, a warn saying what fails and what to fix when refused, never the key', async () => {
    const good = capturingLogger();
    await reportModelKeyCheck({ url: realtimeUrl(sim.url, 'gpt-realtime'), model: 'gpt-realtime', dialect: 'ga', apiKey: sim.apiKey, logger: good.logger });
    assert.ok(good.lines.some((line) => line.msg === 'model key accepted' && line.level === 30 && line.model === 'gpt-realtime'));
    const bad = capturingLogger();
    const wrongKey = 'sk-wrong-a9c3b7d5a2e60f4e';
    await reportModelKeyCheck({ url: realtimeUrl(afterUpgrade.url, 'gpt-realtime'), model: 'gpt-realtime', dialect: 'ga', apiKey: wrongKey, logger: bad.logger });
    const warn = bad.lines.find((line) => line.level === 40 && String(line.msg).startsWith('model key refused'));
    assert.ok(warn, JSON.stringify(bad.lines));
    assert.match(String(warn.msg), /\/join and mentions will fail until it is fixed/);
    assert.match(String(warn.host), /^127\.0\.0\.1:\d+$/);
    assert.doesNotMatch(JSON.stringify(bad.lines), new RegExp(wrongKey));
  });
});
