/**
 * Runs the model's tool calls for one conversation. Every response the bot asks for is registered
 * with the turn it answers (who spoke, where); a function call of that response runs with those
 * members' rights, its result goes back to the model, and once the response is over and every call
 * of it answered, a follow-up response continues the answer (same modalities, same requester) —
 * unless the answer was stopped (barge-in) or it failed. Remote MCP activity is recorded, and MCP
 * approvals are granted only to members who hold the tools permission.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { CreateResponseOptions, FunctionCall, McpApprovalRequest, McpCallEvent, McpToolsEvent, RealtimeClient, ResponseHandle, ResponseResult } from '../realtime/index.ts';
import { resultText, runCall, type CallOutcome } from './execution.ts';
import type { ToolActivity } from './activity.ts';
import type { Requester, ToolContext, ToolDefinition, ToolResult } from './types.ts';

/** A function call as the runner reports it. */
export interface RunningCall {
  callId: string;
  name: string;
  /** The response that made it. */
  handle: ResponseHandle | null;
  startedAt: number;
}

/** Events of a {@link ToolRunner}. */
export interface ToolRunnerEvents {
  callStarted: [RunningCall];
  callFinished: [RunningCall & { outcome: CallOutcome; ms: number }];
  /** The answer to `from` goes on in `to` (after its tool results). */
  continued: [from: ResponseHandle, to: ResponseHandle];
}

/** What the runner needs. */
export interface ToolRunnerOptions {
  client: RealtimeClient;
  logger: Logger;
  /** The function tool of a name (undefined: unknown). */
  tool: (name: string) => ToolDefinition | undefined;
  /** Whether the tool is switched on for this server now. */
  enabled: (name: string) => boolean;
  timeoutMs: number;
  /** Builds the context for a call, or refuses (requester gone, lacks the permission…). */
  context: (requester: Requester, tool: ToolDefinition, signal: AbortSignal, afterAnswer: (action: AfterAnswer) => void) => Promise<ToolContext | ToolResult>;
  /** Whether every member of the turn may approve MCP calls (holds the tools permission). */
  mayApprove: (requester: Requester) => Promise<{ approve: boolean; reason?: string }>;
  activity: ToolActivity;
  /** Most follow-up responses one answer may chain (a model calling tools in a loop stops here; default 5). */
  maxRounds?: number;
}

/** Something a tool asked to do once the answer is over. */
export type AfterAnswer = () => void | Promise<void>;

interface AnswerState {
  requester: Requester | null;
  round: number;
  /** Shared by an answer's responses: what to do when it is over. */
  chain: { actions: AfterAnswer[] };
  /** Calls of this response still running. */
  running: Set<Promise<void>>;
  result: ResponseResult | null;
  next: Promise<ResponseHandle | null>;
  resolveNext: (handle: ResponseHandle | null) => void;
  settled: boolean;
}

/** The tool runner of one conversation. */
export class ToolRunner extends EventEmitter<ToolRunnerEvents> {
  readonly #options: ToolRunnerOptions;
  readonly #log: Logger;
  readonly #answers = new WeakMap<ResponseHandle, AnswerState>();
  /** Whether an answer may go on after its tools (voice: not after a barge-in). Set by the voice session. */
  mayContinue: (handle: ResponseHandle) => boolean = () => true;
  /** Resolves when what was said has been heard (voice: playback drained); then after-answer actions run. */
  whenHeard: () => Promise<void> = async () => undefined;
  readonly #detach: () => void;
  #running = 0;

  constructor(options: ToolRunnerOptions) {
    super();
    this.#options = options;
    this.#log = options.logger.child({ component: 'tools' });
    const client = options.client;
    const onCall = (call: FunctionCall) => this.#onCall(call);
    const onApproval = (request: McpApprovalRequest) => this.#track(request.handle, this.#onApproval(request));
    const onMcpCall = (event: McpCallEvent) => {
      options.activity.mcpCall(event);
      if (event.status === 'failed') this.#log.warn({ server: event.serverLabel, tool: event.name.slice(0, 64), error: event.error }, 'mcp call failed');
      else this.#log.info({ server: event.serverLabel, tool: event.name.slice(0, 64) }, 'mcp call');
    };
    const onMcpTools = (event: McpToolsEvent) => {
      options.activity.mcpList(event);
      if (event.status === 'failed') this.#log.warn({ server: event.serverLabel }, 'mcp server: listing its tools failed');
      else if (event.status === 'completed') this.#log.info({ server: event.serverLabel, tools: event.tools.length }, 'mcp server tools listed');
    };
    client.on('function_call', onCall);
    client.on('mcp_approval_request', onApproval);
    client.on('mcp_call', onMcpCall);
    client.on('mcp_tools', onMcpTools);
    this.#detach = () => {
      client.off('function_call', onCall);
      client.off('mcp_approval_request', onApproval);
      client.off('mcp_call', onMcpCall);
      client.off('mcp_tools', onMcpTools);
    };
  }

  /** Function calls running now. */
  get running(): number {
    return this.#running;
  }

  /** Asks for a response answering `requester`'s turn (tools it calls run with their rights). */
  respond(requester: Requester, options: CreateResponseOptions): ResponseHandle {
    const handle = this.#options.client.createResponse(options);
    this.register(handle, requester);
    return handle;
  }

  /** Records which turn a response answers (for responses created elsewhere). */
  register(handle: ResponseHandle, requester: Requester | null, round = 0, chain: AnswerState['chain'] = { actions: [] }): void {
    if (this.#answers.has(handle)) return;
    let resolveNext!: (next: ResponseHandle | null) => void;
    const next = new Promise<ResponseHandle | null>((resolve) => (resolveNext = resolve));
    const state: AnswerState = { requester, round, chain, running: new Set(), result: null, next, resolveNext, settled: false };
    this.#answers.set(handle, state);
    void handle.done.then((result) => {
      state.result = result;
      this.#maybeContinue(handle, state);
    });
  }

  /**
   * The response that continues `handle`'s answer after its tools, or null when there is none (no
   * tools called, stopped, failed). Resolves once the tools are done.
   */
  continuationOf(handle: ResponseHandle): Promise<ResponseHandle | null> {
    return this.#answers.get(handle)?.next ?? Promise.resolve(null);
  }

  /** Whether calls of this response are still running. */
  busyWith(handle: ResponseHandle): boolean {
    return (this.#answers.get(handle)?.running.size ?? 0) > 0;
  }

  /** Stops listening (the conversation is gone). Running calls finish; their results are dropped. */
  close(): void {
    this.#detach();
  }

  #onCall(call: FunctionCall): void {
    // A response nobody registered still gets its follow-up (the model explains the refusal).
    if (call.handle && !this.#answers.has(call.handle)) this.register(call.handle, null);
    const state = call.handle ? this.#answers.get(call.handle) : undefined;
    const requester = state?.requester ?? null;
    const info: RunningCall = { callId: call.callId, name: call.name, handle: call.handle, startedAt: performance.now() };
    const options = this.#options;
    const tool = options.tool(call.name);
    this.#running++;
    this.emit('callStarted', info);
    const task = runCall({
      name: call.name,
      arguments: call.arguments,
      interrupted: call.interrupted,
      tool,
      enabled: tool ? options.enabled(tool.name) : false,
      timeoutMs: tool?.timeoutMs ?? options.timeoutMs,
      context: async (definition, signal) =>
        requester
          ? options.context(requester, definition, signal, (action) => state?.chain.actions.push(action))
          : { ok: false, error: 'no_requester', message: 'It is not known who asked for this, so it cannot run.' },
      late: (outcome) => this.#log.info({ tool: call.name, callId: call.callId, outcome }, 'tool finished after its timeout; result ignored'),
    }).then((report) => {
      const sent = options.client.sendFunctionOutput(call.callId, resultText(report.result));
      const level = report.outcome === 'ok' || report.outcome === 'refused' || report.outcome === 'cancelled' ? 'info' : 'warn';
      // One line per call; the arguments are never logged (they carry what people said).
      this.#log[level]({ tool: call.name.slice(0, 64), callId: call.callId, outcome: report.outcome, ms: Math.round(report.ms), ...(report.detail ? { detail: report.detail } : {}), ...(sent ? {} : { resultDropped: true }) }, 'tool call');
      options.activity.functionCall({ name: call.name.slice(0, 64), outcome: report.outcome, ms: report.ms, ...(report.detail ? { detail: report.detail } : {}) });
      this.#running--;
      this.emit('callFinished', { ...info, outcome: report.outcome, ms: report.ms });
    });
    this.#track(call.handle, task);
  }

  /** The answer of `handle` goes on only once `task` (a call's result, an approval's answer) is sent. */
  #track(handle: ResponseHandle | null, task: Promise<void>): void {
    if (handle && !this.#answers.has(handle)) this.register(handle, null);
    const state = handle ? this.#answers.get(handle) : undefined;
    if (!state || !handle) return;
    state.running.add(task);
    void task.then(() => {
      state.running.delete(task);
      this.#maybeContinue(handle, state);
    });
  }

  async #onApproval(request: McpApprovalRequest): Promise<void> {
    const state = request.handle ? this.#answers.get(request.handle) : undefined;
    const requester = state?.requester ?? null;
    const decision = requester
      ? await this.#options.mayApprove(requester).catch(() => ({ approve: false, reason: 'the approval could not be checked' }))
      : { approve: false, reason: 'nobody known asked for it' };
    const answered = this.#options.client.answerMcpApproval(request.id, decision.approve, decision.reason);
    this.#options.activity.mcpApproval({ serverLabel: request.serverLabel, name: request.name, approved: decision.approve });
    this.#log.info({ server: request.serverLabel, tool: request.name.slice(0, 64), approved: decision.approve, ...(answered ? {} : { answerDropped: true }) }, 'mcp approval');
  }

  #maybeContinue(handle: ResponseHandle, state: AnswerState): void {
    if (state.settled || !state.result || state.running.size > 0) return;
    state.settled = true;
    const { result } = state;
    const owed = result.functionCallIds.length + result.mcpApprovalIds.length;
    if (owed === 0 || result.status !== 'completed') return this.#end(state);
    if (!this.mayContinue(handle)) {
      this.#log.debug({ responseId: result.responseId }, 'answer stopped: no follow-up after its tools');
      return this.#end(state);
    }
    const maxRounds = this.#options.maxRounds ?? 5;
    if (state.round + 1 > maxRounds) {
      this.#log.warn({ rounds: state.round }, 'the model kept calling tools: no further follow-up for this answer');
      return this.#end(state);
    }
    // The follow-up is the same answer going on: same modalities and the same output cap (a text answer's
    // TEXT_MAX_OUTPUT_TOKENS must hold after a tool call too, or one question buys an unbounded answer).
    const { modalities, maxOutputTokens } = handle.request;
    const next = this.#options.client.createResponse({ ...(modalities ? { modalities } : {}), ...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}) });
    this.register(next, state.requester, state.round + 1, state.chain);
    this.emit('continued', handle, next);
    state.resolveNext(next);
  }

  /** The answer is over: no follow-up; what its tools asked to do afterwards runs once it has been heard. */
  #end(state: AnswerState): void {
    state.resolveNext(null);
    const actions = state.chain.actions.splice(0);
    if (actions.length === 0) return;
    void this.whenHeard()
      .then(async () => {
        for (const action of actions) await action();
      })
      .catch((error: unknown) => this.#log.warn({ err: error instanceof Error ? error.message : String(error) }, 'an action after the answer failed'));
  }
}
