/**
 * post_message when Discord holds the post back (discord.js queues a send while the channel is rate
 * limited, past the tool timeout): the model is told, before the timeout, that the message is queued
 * and will appear (not that it failed, which would make it post it again); a later failure is logged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from 'pino';
import postMessage from '../../tools/postMessage.ts';
import { runCall } from '../../src/tools/execution.ts';
import type { ToolContext } from '../../src/tools/types.ts';

function harness(send: () => Promise<{ id: string }>) {
  const logged: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const log = {
    info: (fields: Record<string, unknown>, message: string) => logged.push({ level: 'info', fields, message }),
    warn: (fields: Record<string, unknown>, message: string) => logged.push({ level: 'warn', fields, message }),
  } as unknown as Logger;
  const sent: unknown[] = [];
  const textChannel = {
    id: 'c1',
    name: 'general',
    permissionsFor: () => ({ has: () => true }),
    send: (message: unknown) => (sent.push(message), send()),
  };
  const context = { member: { displayName: 'Alice' }, textChannel, log } as unknown as ToolContext;
  const call = (timeoutMs: number) =>
    runCall({ name: 'post_message', arguments: '{"text":"https://example.com/notes"}', interrupted: false, tool: postMessage, enabled: true, timeoutMs, context: async () => context });
  return { call, logged, sent };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('a post Discord confirms in time is reported posted, with its id', async () => {
  const { call, sent } = harness(async () => ({ id: 'm1' }));
  const report = await call(15_000);
  assert.equal(report.outcome, 'ok');
  assert.deepEqual(report.result, { ok: true, posted: true, channel: 'general', messageId: 'm1' });
  assert.equal(sent.length, 1);
});

test('a post still queued at the timeout is reported queued (not failed, not to be retried), and a later failure is logged', async () => {
  let fail!: (error: Error) => void;
  const { call, logged, sent } = harness(() => new Promise((_resolve, reject) => (fail = reject)));
  // A short tool timeout: the tool answers before it, whatever TOOL_TIMEOUT_SECONDS is.
  const report = await call(1_500);
  assert.equal(report.outcome, 'ok', 'not a timeout');
  assert.ok(report.ms < 1_500, `answered before the timeout (${Math.round(report.ms)} ms)`);
  assert.equal(report.result.ok, true);
  assert.equal((report.result as Record<string, unknown>).queued, true);
  assert.equal((report.result as Record<string, unknown>).posted, false);
  assert.match(String((report.result as Record<string, unknown>).message), /queued and will appear.*Do not post it again/);
  assert.equal(sent.length, 1, 'sent once; the send is left to finish');
  fail(new Error('Missing Access'));
  await until(() => logged.some((line) => line.level === 'warn'), 'the late failure logged');
  assert.match(logged.find((line) => line.level === 'warn')!.message, /could not be posted after all/);
  assert.equal(logged.find((line) => line.level === 'warn')!.fields.err, 'Missing Access');
});

test('a queued post that goes out later is logged as posted', async () => {
  let post!: (message: { id: string }) => void;
  const { call, logged } = harness(() => new Promise((resolve) => (post = resolve)));
  const report = await call(1_000);
  assert.equal((report.result as Record<string, unknown>).queued, true);
  post({ id: 'm9' });
  await until(() => logged.some((line) => line.level === 'info'), 'the late post logged');
  assert.equal(logged.find((line) => line.level === 'info')!.fields.messageId, 'm9');
});
