import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { NoticeThrottle, SlidingWindowLimiter } from '../../src/discord/rateLimiter.ts';

test('allows `count` hits per window per key, then says how long to wait', () => {
  const limiter = new SlidingWindowLimiter(3, 60_000);
  assert.equal(limiter.hit('alice', 0), 0);
  assert.equal(limiter.hit('alice', 1_000), 0);
  assert.equal(limiter.hit('alice', 2_000), 0);
  assert.equal(limiter.hit('alice', 3_000), 57_000);
  assert.equal(limiter.hit('bob', 3_000), 0, 'other users are not affected');
  assert.equal(limiter.hit('alice', 60_001), 0, 'the oldest hit left the window');
});

test('a flood gets one notice per window', () => {
  const limiter = new SlidingWindowLimiter(1, 10_000);
  limiter.hit('eve', 0);
  const notices = [];
  for (let at = 1; at < 10_000; at += 100) if (limiter.hit('eve', at) > 0 && limiter.shouldNotify('eve', at)) notices.push(at);
  assert.deepEqual(notices, [1]);
});

test('memory stays bounded under many distinct users', () => {
  const limiter = new SlidingWindowLimiter(1, 1_000);
  for (let i = 0; i < 5_000; i++) limiter.hit(`user${i}`, i * 10);
  assert.ok(limiter.size < 1_200, `tracked ${limiter.size}`);
});

test('NoticeThrottle: one notice per key per interval, each key its own, again once the interval is over', () => {
  const throttle = new NoticeThrottle(15_000);
  assert.equal(throttle.allow('general', 0), true);
  assert.equal(throttle.allow('general', 14_999), false);
  assert.equal(throttle.allow('other', 1_000), true, 'other channels are not affected');
  assert.equal(throttle.allow('general', 15_000), true);
  assert.equal(throttle.allow('general', 15_001), false);
});
