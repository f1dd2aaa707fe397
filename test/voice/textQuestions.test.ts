/**
 * Text questions of one conversation are taken one at a time: the next is put to the model only once
 * the previous answer is over, or once putting the previous one failed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResponseHandle } from '../../src/realtime/index.ts';
import { TextQuestions } from '../../src/voice/textQuestions.ts';

/** A stand-in response whose answer ends when the test says so. */
function answer(name: string): { handle: ResponseHandle; end: () => void } {
  let end!: () => void;
  const over = new Promise<void>((resolve) => (end = resolve));
  return { handle: { name, over } as unknown as ResponseHandle, end };
}

function queue() {
  let settled = 0;
  const questions = new TextQuestions({ answerOver: (handle) => (handle as unknown as { over: Promise<void> }).over, settled: () => settled++ });
  return { questions, settled: () => settled };
}

describe('TextQuestions', () => {
  it('puts a question to the model only once the previous answer is over', async () => {
    const { questions, settled } = queue();
    const first = answer('first');
    const second = answer('second');
    const asked: string[] = [];
    const one = questions.ask(() => (asked.push('first'), first.handle));
    const two = questions.ask(() => (asked.push('second'), second.handle));
    assert.equal(questions.pending, 2);
    assert.equal(await one, first.handle);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(asked, ['first'], 'the second waits while the first answer goes on');
    first.end();
    assert.equal(await two, second.handle);
    assert.deepEqual(asked, ['first', 'second']);
    assert.equal(questions.pending, 1);
    assert.equal(settled(), 1);
    second.end();
    await questions.ask(() => answer('third').handle);
    assert.equal(settled(), 2);
  });

  it('a question that could not be put releases the next one at once', async () => {
    const { questions, settled } = queue();
    const failing = questions.ask(() => {
      throw new Error('closed');
    });
    const next = answer('next');
    const after = questions.ask(() => next.handle);
    await assert.rejects(failing, /closed/);
    assert.equal(settled(), 1, 'the failed question left the queue');
    assert.equal(questions.pending, 1);
    assert.equal(await after, next.handle);
  });
});
