import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_RATE_LIMIT_PAUSE_MS, retryAfterFromMessage } from '../../src/realtime/protocol.ts';

test('rate-limit hints are read in seconds and milliseconds', () => {
  assert.equal(retryAfterFromMessage('Rate limit reached. Please try again in 1.5s.'), 1_500);
  assert.equal(retryAfterFromMessage('Please try again in 200ms'), 200);
  assert.equal(retryAfterFromMessage('slow down'), 1_000, 'no hint: the fallback');
  assert.equal(retryAfterFromMessage('try again in NaNs', 750), 750);
});

test('a huge or hostile hint cannot mute the bot for longer than the cap', () => {
  assert.equal(retryAfterFromMessage('try again in 86400s'), MAX_RATE_LIMIT_PAUSE_MS);
  assert.equal(retryAfterFromMessage('try again in 99999999999ms'), MAX_RATE_LIMIT_PAUSE_MS);
  // A number too large to represent is no hint at all: the short fallback applies.
  assert.equal(retryAfterFromMessage(`try again in ${'9'.repeat(400)}s`), 1_000);
});
