/**
 * What the client remembers of a conversation when a reply is cut short: the transcript kept to what
 * was heard, and the truncation point it sends (whole milliseconds, never past the audio received).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConversationHistory, cutTranscript, truncationPointMs } from '../../src/realtime/history.ts';

describe('cutTranscript', () => {
  it('keeps the heard share of the text, cut back to a word boundary', () => {
    // 19 characters, half heard: 10 characters ("the quick ") → the words before the cut.
    assert.equal(cutTranscript('the quick brown fox', 500, 1_000), 'the quick');
    assert.equal(cutTranscript('the quick brown fox', 250, 1_000), 'the');
    assert.equal(cutTranscript('Reply 3. Hello Alice. I heard 1.2 seconds of audio.', 300, 1_500), 'Reply 3.');
  });

  it('keeps everything when all of it was heard, nothing when none was', () => {
    assert.equal(cutTranscript('the quick brown fox', 1_000, 1_000), 'the quick brown fox');
    assert.equal(cutTranscript('the quick brown fox', 1_200, 1_000), 'the quick brown fox');
    assert.equal(cutTranscript('the quick brown fox', 0, 1_000), '');
    assert.equal(cutTranscript('the quick brown fox', 500, 0), 'the quick brown fox', 'no audio length known: nothing to cut by');
  });

  it('cuts inside a single long word when there is no space before the cut', () => {
    assert.equal(cutTranscript('Supercalifragilistic', 500, 1_000), 'Supercalif');
  });
});

describe('truncationPointMs', () => {
  it('floors to whole milliseconds and clamps to the whole milliseconds received (odd delta sizes)', () => {
    // 4,825 bytes of 24 kHz PCM16 = 100.52 ms: the service accepts at most 100.
    assert.equal(truncationPointMs(1e9, 4_825), 100);
    assert.equal(truncationPointMs(100.99, 4_825), 100);
    assert.equal(truncationPointMs(99.99, 4_825), 99);
    // Three odd deltas: 1,000 + 2,001 + 999 bytes = 83.33 ms.
    assert.equal(truncationPointMs(Number.POSITIVE_INFINITY, 1_000 + 2_001 + 999), 0, 'a non-finite request counts as 0');
    assert.equal(truncationPointMs(500, 1_000 + 2_001 + 999), 83);
  });

  it('never goes below 0', () => {
    assert.equal(truncationPointMs(-20, 4_800), 0);
    assert.equal(truncationPointMs(Number.NaN, 4_800), 0);
  });
});

describe('ConversationHistory truncation', () => {
  it('cuts an assistant entry already recorded, and a reply recorded after its truncation', () => {
    const history = new ConversationHistory();
    history.add({ role: 'assistant', text: 'the quick brown fox', kind: 'transcript', itemId: 'item_a' });
    history.truncated('item_a', 500, 1_000);
    assert.equal(history.byItemId('item_a')!.text, 'the quick');
    history.truncated('item_b', 250, 1_000); // the reply finishes after it was interrupted
    history.addReply({ transcript: 'jumps over the lazy dog', text: '', itemId: 'item_b', audioMs: 1_000 });
    assert.equal(history.byItemId('item_b')!.text, 'jumps');
    history.addReply({ transcript: 'an uninterrupted answer', text: '', itemId: 'item_c', audioMs: 1_000 });
    assert.equal(history.byItemId('item_c')!.text, 'an uninterrupted answer');
  });

  it('forgets truncation points at a new session (item ids mean nothing there)', () => {
    const history = new ConversationHistory();
    history.truncated('item_a', 0, 1_000);
    history.newSession();
    history.addReply({ transcript: 'kept whole', text: '', itemId: 'item_a', audioMs: 1_000 });
    assert.equal(history.byItemId('item_a')!.text, 'kept whole');
  });
});
