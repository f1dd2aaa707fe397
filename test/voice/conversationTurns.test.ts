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
  const { turns, detach } = attachTurnTaking(realtime, { playback, logger: silentLogger, answerAfterReplyMinMs: 500, turnOf: () => ({ speakers: [], speechEndAt: 0, voicedMs: 0 }) });
  assert.deepEqual(counts(), before.map((n) => n + 1), 'one listener per event');
  realtime.emit('speech_started', { itemId: 'item_1', audioStartMs: 0 });
  assert.equal(turns.state.status, 'userSpeaking', 'the events reach turn-taking');
  detach();
  assert.deepEqual(counts(), before);
  realtime.emit('speech_stopped', { itemId: 'item_1', audioEndMs: 10, contributors: [] });
  assert.equal(turns.state.status, 'userSpeaking', 'nothing reaches it after detach');
});
