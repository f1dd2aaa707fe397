import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { RealtimeClient } from '../../src/realtime/index.ts';
import { attachTurnTaking } from '../../src/voice/conversationTurns.ts';

const EVENTS = ['speech_started', 'speech_stopped', 'input_committed', 'audio_delta', 'audio_done', 'response_done'] as const;

test('turn-taking is fed by the client events, and detaching removes every listener it added', () => {
  const realtime = new RealtimeClient({
    url: 'ws://127.0.0.1:9/v1/realtime',
    model: 'gpt-realtime',
    dialect: 'ga',
    apiKey: 'k',
    logger: silentLogger,
    session: { instructions: '', voice: 'alloy', outputModalities: ['audio'], turnDetection: { type: 'manual' } },
  });
  const counts = () => EVENTS.map((name) => realtime.listenerCount(name));
  const before = counts();
  const playback = { isPlaying: false, push() {}, endItem() {}, stop: () => null };
  const { turns, detach } = attachTurnTaking(realtime, { playback, logger: silentLogger, answerAfterReplyMinMs: 500, turnOf: () => ({ speakers: [], speakerIds: [], speechEndAt: 0, voicedMs: 0 }) });
  assert.deepEqual(counts(), before.map((n) => n + 1), 'one listener per event');
  realtime.emit('speech_started', { itemId: 'item_1', audioStartMs: 0 });
  assert.equal(turns.state.status, 'userSpeaking', 'the events reach turn-taking');
  detach();
  assert.deepEqual(counts(), before);
  realtime.emit('speech_stopped', { itemId: 'item_1', audioEndMs: 10, contributors: [] });
  assert.equal(turns.state.status, 'userSpeaking', 'nothing reaches it after detach');
});

test('the spend-limit hook reaches turn-taking: a committed turn is not answered while responses are paused', () => {
  const realtime = new RealtimeClient({
    url: 'ws://127.0.0.1:9/v1/realtime',
    model: 'gpt-realtime',
    dialect: 'ga',
    apiKey: 'k',
    logger: silentLogger,
    session: { instructions: '', voice: 'alloy', outputModalities: ['audio'], turnDetection: { type: 'manual' } },
  });
  let asked = 0;
  realtime.createResponse = () => {
    asked++;
    throw new Error('no response may be asked for while paused');
  };
  let paused = true;
  const playback = { isPlaying: false, push() {}, endItem() {}, stop: () => null };
  const { turns, detach } = attachTurnTaking(realtime, {
    playback,
    logger: silentLogger,
    answerAfterReplyMinMs: 500,
    mayRespond: () => !paused,
    turnOf: () => ({ speakers: ['Alice'], speakerIds: ['id-Alice'], speechEndAt: 0, voicedMs: 800 }),
  });
  realtime.emit('input_committed', { itemId: 'item_1', previousItemId: null, contributors: ['1'] });
  assert.equal(asked, 0, 'nothing asked while paused');
  assert.equal(turns.state.status, 'idle');
  paused = false;
  assert.throws(() => realtime.emit('input_committed', { itemId: 'item_2', previousItemId: 'item_1', contributors: ['1'] }), /no response may be asked/);
  assert.equal(asked, 1, 'asked once the limit is lifted');
  detach();
});
