/**
 * An admin is told when the server's model has no price: /model show and /usage say its cost is
 * counted as $0 instead of showing a cost that looks real.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeModel } from '../../commands/model.ts';
import { unpricedNote } from '../../commands/usage.ts';

test('/model show and /usage mark a model without a price, and only such a model', () => {
  assert.match(describeModel('my-model'), /^my-model — price unknown: its cost is counted as \$0/);
  assert.equal(describeModel('gpt-realtime-mini'), 'gpt-realtime-mini — audio $10 in / $20 out, text $0.6 / $2.4 per 1M tokens');
  assert.match(unpricedNote('my-model'), /No price is known for my-model: .*counted at \$0/);
  assert.equal(unpricedNote('gpt-realtime'), '');
  assert.equal(unpricedNote('gpt-realtime-2025-08-28'), '', 'a dated snapshot is priced as its model');
});
