/**
 * One function call, from the model's arguments to the result it is told: every way it can go wrong
 * — cut off by a barge-in, an unknown or switched-off tool, arguments that are not JSON or fail the
 * schema, a requester without the right, a tool that throws or takes too long — becomes a clear
 * result, never an exception.
 */
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { refuse, type ToolContext, type ToolDefinition, type ToolResult } from './types.ts';

/** How a call ended (for logs, metrics and /status). */
export type CallOutcome = 'ok' | 'refused' | 'error' | 'timeout' | 'invalid_arguments' | 'unknown_tool' | 'disabled' | 'cancelled';

/** A finished call. */
export interface CallReport {
  result: ToolResult;
  outcome: CallOutcome;
  /** Time from the call to its result, ms. */
  ms: number;
  /** What went wrong, for the log line (never the arguments: they may hold what people said). */
  detail?: string;
}

/** What running a call needs. */
export interface CallInput {
  name: string;
  /** The arguments as the model wrote them. */
  arguments: string;
  /** The response was cut off (barge-in): the call must not run. */
  interrupted: boolean;
  tool: ToolDefinition | undefined;
  enabled: boolean;
  timeoutMs: number;
  /** Builds the context (who asked, where), or refuses when the requester cannot act. */
  context: (tool: ToolDefinition, signal: AbortSignal) => Promise<ToolContext | ToolResult>;
  /** A result that arrives after the timeout (ignored; logged). */
  late?: (outcome: CallOutcome) => void;
}

/** Longest result text the model gets (a tool returning a whole web page would fill its context). */
export const MAX_RESULT_CHARS = 8_000;

/** Runs one call to its result. Never rejects. */
export async function runCall(input: CallInput): Promise<CallReport> {
  const started = performance.now();
  const report = (result: ToolResult, outcome: CallOutcome, detail?: string): CallReport => ({ result, outcome, ms: performance.now() - started, ...(detail ? { detail } : {}) });
  if (input.interrupted) return report(refuse('cancelled', 'The person interrupted before this ran; it was not run. Ask again if it is still wanted.'), 'cancelled');
  const { tool } = input;
  if (!tool) return report(refuse('unknown_tool', `There is no tool named "${input.name.slice(0, 64)}". Use only the tools you were given.`), 'unknown_tool', `unknown tool ${input.name.slice(0, 64)}`);
  if (!input.enabled) return report(refuse('tool_disabled', `The ${tool.name} tool is switched off on this server (an admin can enable it with /tools).`), 'disabled');
  let json: unknown;
  try {
    json = input.arguments.trim() === '' ? {} : JSON.parse(input.arguments);
  } catch {
    return report(refuse('invalid_arguments', `The arguments of ${tool.name} were not valid JSON. Call it again with a JSON object matching its parameters.`), 'invalid_arguments', 'malformed JSON');
  }
  const parsed = tool.parameters.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || '(arguments)'}: ${issue.message}`);
    return report(refuse('invalid_arguments', `The arguments of ${tool.name} do not match its parameters: ${issues.join('; ')}.`), 'invalid_arguments', issues.join('; '));
  }
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = performance.now() + input.timeoutMs;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), input.timeoutMs);
  });
  const work = (async (): Promise<CallReport> => {
    const context = await input.context(tool, controller.signal);
    if ('ok' in context) return report(context, 'refused');
    const result = await tool.execute(parsed.data, { ...context, deadline });
    return report(result, result.ok ? 'ok' : 'refused');
  })().catch((error: unknown) => report(refuse('tool_failed', `The ${tool.name} tool failed: ${errorText(error)}. Tell the person it did not work.`), 'error', errorText(error)));
  try {
    const winner = await Promise.race([work, timedOut]);
    if (winner !== 'timeout') return winner;
    controller.abort();
    void work.then((late) => input.late?.(late.outcome));
    return report(refuse('timeout', `The ${tool.name} tool did not finish within ${Math.round(input.timeoutMs / 1000)} s; it may still complete. Tell the person it is taking too long.`), 'timeout');
  } finally {
    clearTimeout(timer);
  }
}

/** The text of a result as sent to the model (JSON, bounded). */
export function resultText(result: ToolResult): string {
  let text: string;
  try {
    text = JSON.stringify(result);
  } catch {
    text = JSON.stringify(refuse('tool_failed', 'The tool returned a result that cannot be sent.'));
  }
  return text.length > MAX_RESULT_CHARS ? `${text.slice(0, MAX_RESULT_CHARS)}… (cut: result too long)` : text;
}

function errorText(error: unknown): string {
  const text = error instanceof z.ZodError ? 'bad data' : error instanceof Error ? error.message : String(error);
  return text.slice(0, 200) || 'unknown error';
}
