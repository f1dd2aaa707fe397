/**
 * FAULT: the realtime socket is dropped in the middle of a reply, 50 times in a row, with the real
 * bot in a voice channel. The bot must reconnect every time, keep the conversation (history re-seeded
 * into each new session), keep answering voice turns, and not leak listeners, sessions or memory.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { collectCrashes, eventually, forceGc, startVoiceStack, voiceTurn, waitForPlaybackIdle, type VoiceStack } from './helpers.ts';

const crashes = collectCrashes();
let s: VoiceStack;

before(async () => {
  // 2 s replies streamed at twice real time: a drop after a few events always lands mid-reply.
  s = await startVoiceStack({ realtime: { replyAudioMs: 2_000, deltaMs: 100, burstFactor: 2 } });
});
after(async () => {
  await s?.close();
  crashes.assertNone();
});

const WATCHED_EVENTS = ['audio_delta', 'audio_done', 'response_done', 'input_committed', 'reconnecting', 'reconnected', 'rate_limited', 'error', 'closed', 'usage'] as const;

test('50 drops of the realtime socket mid-reply: reconnects, keeps history and voice, no leaks', async () => {
  const { stack, alice, carol } = s;
  const realtime = stack.realtime!;
  // A normal turn first: the voice path works.
  assert.ok((await voiceTurn(alice, carol, 1)) >= 300);
  await waitForPlaybackIdle(s.voice);

  const client = s.conversation().realtime;
  const listeners = () => Object.fromEntries(WATCHED_EVENTS.map((name) => [name, client.listenerCount(name)]));
  const listenersBefore = listeners();
  let heapBaseline = 0;
  const handshakesBefore = realtime.handshakes;

  for (let i = 0; i < 50; i++) {
    client.addUserText(`remember fact ${i}: the code word is word${i}`, { name: 'Alice' });
    const heardBefore = carol.heardMs();
    const handle = s.voice().requestReply(); // a spoken reply, through the session's turn-taking
    await once(client, 'audio_delta');
    const reconnected = once(client, 'reconnected');
    realtime.injectFault({ dropAfterEvents: 3 }); // mid-reply: ~20 deltas remain
    const result = await handle.done;
    assert.equal(result.status, 'failed', `reply ${i} was cut by the drop`);
    assert.equal(result.reason, 'disconnected');
    await reconnected;
    assert.equal(client.state, 'open');
    // What was received of the cut reply was played, not stuck in the buffer.
    await eventually(() => carol.heardMs() > heardBefore, `Carol to hear the start of cut reply ${i}`);
    if (i === 4) {
      await waitForPlaybackIdle(s.voice);
      forceGc();
      heapBaseline = process.memoryUsage().heapUsed;
    }
  }
  assert.equal(realtime.handshakes - handshakesBefore, 50, 'one new session per drop');
  await eventually(() => realtime.openSessions().length === 1, 'exactly one open realtime session');

  // History re-seeded: the newest session was given facts from before the drops.
  const newest = realtime.openSessions()[0]!;
  const seeded = () => newest.received.filter((entry) => entry.event.type === 'conversation.item.create').map((entry) => JSON.stringify(entry.event));
  await eventually(() => seeded().some((text) => text.includes('word48')), 'the newest session to be re-seeded with the last facts');
  assert.ok(seeded().some((text) => text.includes('word0')), 'the first fact survived 50 reconnects');
  assert.ok(client.history.some((entry) => entry.text.includes('word49')));

  // Later replies still arrive, by voice, complete.
  await waitForPlaybackIdle(s.voice);
  const heard = await voiceTurn(alice, carol, 2, { minMs: 1_500 });
  assert.ok(heard >= 1_500, `a full reply after the drops (heard ${heard} ms)`);
  await waitForPlaybackIdle(s.voice);
  assert.equal(s.conversation().problem, null, '/status shows no problem once reconnected');

  assert.deepEqual(listeners(), listenersBefore, 'no listener was added per reconnect');
  forceGc();
  const growth = process.memoryUsage().heapUsed - heapBaseline;
  assert.ok(growth < 8 * 1024 * 1024, `heap grew ${(growth / 1048576).toFixed(1)} MB over 45 reconnects`);
});
