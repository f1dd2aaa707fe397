/**
 * One function call from the model's arguments to its result: every failure is a result with a
 * clear message (never an exception), a refusal never runs the tool, and a slow tool is cut off by
 * its timeout (aborted, its late result reported apart).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { MAX_RESULT_CHARS, resultText, runCall, type CallInput } from '../../src/tools/execution.ts';
import { defineTool, done, refuse, type ToolContext } from '../../src/tools/types.ts';

const runs: unknown[] = [];
const echo = defineTool({
  name: 'echo',
  description: 'echoes',
  parameters: z.object({ text: z.string().max(10) }).strict(),
  changes: false,
  async execute(args) {
    runs.push(args);
    return done({ said: args.text });
  },
});
const fakeContext = { guild: {} } as unknown as ToolContext;
const input = (overrides: Partial<CallInput>): CallInput => ({
  name: 'echo',
  arguments: '{"text":"hi"}',
  interrupted: false,
  tool: echo,
  enabled: true,
  timeoutMs: 1_000,
  context: async () => fakeContext,
  ...overrides,
});

test('a good call runs the tool with the parsed arguments', async () => {
  runs.length = 0;
  const report = await runCall(input({}));
  assert.deepEqual(report.result, { ok: true, said: 'hi' });
  assert.equal(report.outcome, 'ok');
  assert.deepEqual(runs, [{ text: 'hi' }]);
  // Empty arguments mean no arguments.
  assert.equal((await runCall(input({ tool: defineTool({ ...echo, parameters: z.object({}).strict(), execute: async () => done() }), arguments: '' }))).outcome, 'ok');
});

test('bad input is a result, and the tool never runs', async () => {
  runs.length = 0;
  const cases: [Partial<CallInput>, string, string, RegExp][] = [
    [{ interrupted: true }, 'cancelled', 'cancelled', /interrupted before this ran/],
    [{ tool: undefined, name: 'rm_rf' }, 'unknown_tool', 'unknown_tool', /no tool named "rm_rf"/],
    [{ enabled: false }, 'disabled', 'tool_disabled', /switched off on this server/],
    [{ arguments: '{"text": "hi"' }, 'invalid_arguments', 'invalid_arguments', /not valid JSON/],
    [{ arguments: '[1, 2]' }, 'invalid_arguments', 'invalid_arguments', /do not match its parameters/],
    [{ arguments: '{"text": "far too long for it"}' }, 'invalid_arguments', 'invalid_arguments', /text: Too big/],
    [{ arguments: '{"text": "hi", "rm": true}' }, 'invalid_arguments', 'invalid_arguments', /Unrecognized key/],
    [{ context: async () => refuse('permission_denied', 'Bob lacks it') }, 'refused', 'permission_denied', /Bob lacks it/],
  ];
  for (const [overrides, outcome, error, message] of cases) {
    const report = await runCall(input(overrides));
    assert.equal(report.outcome, outcome, JSON.stringify(overrides));
    assert.equal(report.result.ok, false);
    assert.equal((report.result as { error: string }).error, error);
    assert.match((report.result as { message: string }).message, message);
  }
  assert.deepEqual(runs, [], 'no bad call ran the tool');
});

test('a throwing tool and a slow one become results; the slow one is aborted and its late result reported apart', async () => {
  const thrown = await runCall(input({ tool: defineTool({ ...echo, execute: async () => { throw new TypeError('cannot read x of undefined'); } }) }));
  assert.equal(thrown.outcome, 'error');
  assert.match((thrown.result as { message: string }).message, /failed: cannot read x of undefined/);
  let signal: AbortSignal | undefined;
  const late: string[] = [];
  const slow = defineTool({
    ...echo,
    async execute(_args, context) {
      signal = context.signal;
      await new Promise((resolve) => setTimeout(resolve, 200));
      return done();
    },
  });
  const report = await runCall(input({ tool: slow, timeoutMs: 50, context: async (_tool, s) => ({ ...fakeContext, signal: s }) as ToolContext, late: (outcome) => late.push(outcome) }));
  assert.equal(report.outcome, 'timeout');
  assert.match((report.result as { message: string }).message, /did not finish within 0 s/);
  assert.ok(report.ms >= 45 && report.ms < 200, `${report.ms} ms`);
  assert.equal(signal?.aborted, true, 'the tool was told to stop');
  for (const deadline = Date.now() + 5_000; late.length === 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(late, ['ok'], 'the late result is reported apart, not sent');
});

test('the result text is JSON, bounded, and survives results JSON cannot hold', () => {
  assert.equal(resultText(done({ a: 1 })), '{"ok":true,"a":1}');
  const long = resultText(done({ page: 'x'.repeat(20_000) }));
  assert.ok(long.length <= MAX_RESULT_CHARS + 30 && long.endsWith('(cut: result too long)'));
  assert.match(resultText(done({ big: 10n })), /"error":"tool_failed"/);
});
