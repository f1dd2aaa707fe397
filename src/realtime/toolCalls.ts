/**
 * Tool activity of the current server session: the function calls the model makes (the bot owes each
 * a result, sent as a `function_call_output` item) and what the service reports of the remote MCP
 * servers it runs itself (tool lists, calls, approval requests). Item shapes follow the `openai`
 * package (RealtimeConversationItemFunctionCall, RealtimeMcpListTools, RealtimeMcpToolCall,
 * RealtimeMcpApprovalRequest); they are read tolerantly: a malformed item is logged and skipped.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import { functionOutputItem, mcpApprovalItem, type WireEvent } from './dialect.ts';
import type { KnownServerEvent } from './protocol.ts';
import type { ResponseHandle } from './responseHandle.ts';
import type { RealtimeEventMap } from './types.ts';

type EventOf<T extends KnownServerEvent['type']> = Extract<KnownServerEvent, { type: T }>;
type Emit = <K extends keyof RealtimeEventMap>(name: K, ...args: RealtimeEventMap[K]) => void;

/** What the tracker needs from the client. */
export interface ToolCallDeps {
  log: Logger;
  emit: Emit;
  /** Sends on the current session; null when there is none. */
  send: (event: WireEvent) => string | null;
  /** The handle of a response of this session, if the client requested it. */
  handleOf: (responseId: string) => ResponseHandle | null;
  /** Whether the client asked to cancel that response (a call it made must not run). */
  cancelRequested: (responseId: string) => boolean;
  /** The response in progress (items outside a response event belong to it). */
  active: () => ResponseHandle | null;
}

const text = z.string().max(1_000_000);
const functionCallItem = z.looseObject({ type: z.literal('function_call'), id: z.string(), call_id: z.string().min(1), name: text, arguments: text.nullish(), status: z.string().nullish() });
const mcpCallItem = z.looseObject({
  type: z.literal('mcp_call'),
  id: z.string(),
  server_label: text.nullish(),
  name: text.nullish(),
  error: z.looseObject({ type: z.string().nullish(), message: z.string().nullish(), code: z.unknown().optional() }).nullish(),
});
const mcpListItem = z.looseObject({ type: z.literal('mcp_list_tools'), id: z.string(), server_label: text.nullish(), tools: z.array(z.looseObject({ name: text })).nullish() });
const approvalItem = z.looseObject({ type: z.literal('mcp_approval_request'), id: z.string(), server_label: text.nullish(), name: text.nullish(), arguments: text.nullish() });

/** Most call ids remembered as announced (a call is announced by two events; bounded memory). */
const MAX_REMEMBERED = 512;

interface McpCallState {
  serverLabel: string;
  name: string;
  responseId: string | null;
  failed: boolean;
}

/** Tracks the tool activity of one server session at a time. */
export class ToolCallTracker {
  readonly #deps: ToolCallDeps;
  /** Calls announced in this session whose result is not sent yet (a rotation waits for them). */
  readonly #owed = new Map<string, string>();
  /** Calls already announced: `function_call_arguments.done` and `output_item.done` both carry a call. */
  readonly #announced = new Set<string>();
  readonly #lists = new Map<string, { serverLabel: string; status: 'in_progress' | 'completed' | 'failed' | null; tools: string[] }>();
  readonly #mcpCalls = new Map<string, McpCallState>();
  readonly #approvals = new Set<string>();

  constructor(deps: ToolCallDeps) {
    this.#deps = deps;
  }

  /** Function calls of this session still waiting for their result. */
  get owed(): number {
    return this.#owed.size;
  }

  /** A new server session: nothing of the previous one can be answered there (its call ids mean nothing). */
  newSession(): void {
    if (this.#owed.size > 0) this.#deps.log.warn({ calls: this.#owed.size }, 'session changed while tool results were owed: they cannot be sent');
    this.#owed.clear();
    this.#announced.clear();
    this.#lists.clear();
    this.#mcpCalls.clear();
    this.#approvals.clear();
  }

  /** `response.function_call_arguments.done`: the call is complete (also sent for a cancelled response). */
  onArgumentsDone(event: EventOf<'response.function_call_arguments.done'>): void {
    this.#announce(event.response_id, event.item_id, event.call_id, event.name, event.arguments);
  }

  /** `response.output_item.added`: an MCP call or approval request starts. */
  onOutputItemAdded(event: EventOf<'response.output_item.added'>): void {
    const call = mcpCallItem.safeParse(event.item);
    if (call.success && !this.#mcpCalls.has(call.data.id)) {
      this.#mcpCalls.set(call.data.id, { serverLabel: call.data.server_label ?? 'unknown', name: call.data.name ?? 'unknown', responseId: event.response_id, failed: false });
    }
  }

  /** `response.output_item.done`: a function call (if not announced yet), an MCP call's end, an approval request. */
  onOutputItemDone(event: EventOf<'response.output_item.done'>): void {
    const item = event.item as Record<string, unknown>;
    switch (item.type) {
      case 'function_call': {
        const call = functionCallItem.safeParse(item);
        if (!call.success) return this.#malformed('function_call', call.error);
        // An incomplete call (the response was cancelled mid-arguments) is still announced: it is owed an answer.
        this.#announce(event.response_id, call.data.id, call.data.call_id, call.data.name, call.data.arguments ?? '');
        return;
      }
      case 'mcp_call':
        return this.#mcpCallDone(item, event.response_id);
      case 'mcp_approval_request':
        return this.#approval(item, event.response_id);
    }
  }

  /** `conversation.item.added` / `conversation.item.done`: MCP tool lists and approval requests live here. */
  onConversationItem(item: Record<string, unknown>, phase: 'added' | 'done'): void {
    if (item.type === 'mcp_list_tools') {
      const list = mcpListItem.safeParse(item);
      if (!list.success) return this.#malformed('mcp_list_tools', list.error);
      const state = this.#list(list.data.id, list.data.server_label ?? undefined);
      if (phase === 'done' && list.data.tools) {
        state.tools = list.data.tools.map((tool) => tool.name);
        if (state.status === 'completed') this.#emitList(list.data.id);
      }
    } else if (item.type === 'mcp_approval_request' && phase === 'done') {
      this.#approval(item, null);
    }
  }

  /** `mcp_list_tools.in_progress|completed|failed`. */
  onListStatus(itemId: string, status: 'in_progress' | 'completed' | 'failed'): void {
    const state = this.#list(itemId);
    state.status = status;
    this.#emitList(itemId);
  }

  /** `response.mcp_call.failed`: the details follow in the item's `output_item.done`. */
  onMcpCallFailed(itemId: string): void {
    const state = this.#mcpCalls.get(itemId);
    if (state) state.failed = true;
    else this.#mcpCalls.set(itemId, { serverLabel: 'unknown', name: 'unknown', responseId: null, failed: true });
  }

  /** A response ended: MCP calls of it whose item never finished are reported with what is known. */
  onResponseDone(responseId: string): void {
    for (const [itemId, state] of this.#mcpCalls) {
      if (state.responseId !== responseId) continue;
      this.#mcpCalls.delete(itemId);
      this.#deps.emit('mcp_call', { itemId, responseId, serverLabel: state.serverLabel, name: state.name, status: state.failed ? 'failed' : 'completed', ...(state.failed ? { error: 'the service reported the call failed' } : {}) });
    }
  }

  /**
   * Sends a function call's result. Returns false (and sends nothing) when the call is not owed in the
   * current session — answered already, or made in a session that has since been replaced: the
   * service refuses an output whose call it does not know.
   */
  sendOutput(callId: string, output: string, sent?: (name: string) => void): boolean {
    const name = this.#owed.get(callId);
    if (name === undefined) return false;
    if (this.#deps.send({ type: 'conversation.item.create', item: functionOutputItem(callId, output) }) === null) return false;
    this.#owed.delete(callId);
    sent?.(name);
    return true;
  }

  /** Answers an MCP approval request of this session (false when it is not known here). */
  answerApproval(requestId: string, approve: boolean, reason?: string): boolean {
    if (!this.#approvals.has(requestId)) return false;
    if (this.#deps.send({ type: 'conversation.item.create', item: mcpApprovalItem(requestId, approve, reason) }) === null) return false;
    this.#approvals.delete(requestId);
    return true;
  }

  #announce(responseId: string, itemId: string, callId: string, name: string, args: string): void {
    if (this.#announced.has(callId)) return;
    this.#announced.add(callId);
    if (this.#announced.size > MAX_REMEMBERED) this.#announced.delete(this.#announced.values().next().value!);
    this.#owed.set(callId, name);
    const handle = this.#deps.handleOf(responseId);
    handle?.functionCallIds.push(callId);
    const interrupted = this.#deps.cancelRequested(responseId);
    this.#deps.emit('function_call', { responseId, handle, itemId, callId, name, arguments: args, interrupted });
  }

  #mcpCallDone(item: Record<string, unknown>, responseId: string): void {
    const call = mcpCallItem.safeParse(item);
    if (!call.success) return this.#malformed('mcp_call', call.error);
    const known = this.#mcpCalls.get(call.data.id);
    this.#mcpCalls.delete(call.data.id);
    const error = call.data.error;
    const failed = Boolean(error) || (known?.failed ?? false);
    const detail = error ? `${error.type ?? 'error'}${typeof error.code === 'number' ? ` ${error.code}` : ''}: ${(error.message ?? '').slice(0, 300)}` : 'the service reported the call failed';
    this.#deps.emit('mcp_call', {
      itemId: call.data.id,
      responseId,
      serverLabel: call.data.server_label ?? known?.serverLabel ?? 'unknown',
      name: call.data.name ?? known?.name ?? 'unknown',
      status: failed ? 'failed' : 'completed',
      ...(failed ? { error: detail } : {}),
    });
  }

  #approval(item: Record<string, unknown>, responseId: string | null): void {
    const request = approvalItem.safeParse(item);
    if (!request.success) return this.#malformed('mcp_approval_request', request.error);
    if (this.#approvals.has(request.data.id)) return;
    this.#approvals.add(request.data.id);
    const handle = responseId === null ? this.#deps.active() : this.#deps.handleOf(responseId);
    handle?.mcpApprovalIds.push(request.data.id);
    this.#deps.emit('mcp_approval_request', {
      id: request.data.id,
      responseId: responseId ?? handle?.responseId ?? null,
      handle,
      serverLabel: request.data.server_label ?? 'unknown',
      name: request.data.name ?? 'unknown',
      arguments: request.data.arguments ?? '',
    });
  }

  #list(itemId: string, serverLabel?: string): { serverLabel: string; status: 'in_progress' | 'completed' | 'failed' | null; tools: string[] } {
    let state = this.#lists.get(itemId);
    if (!state) {
      state = { serverLabel: serverLabel ?? 'unknown', status: null, tools: [] };
      this.#lists.set(itemId, state);
      if (this.#lists.size > MAX_REMEMBERED) this.#lists.delete(this.#lists.keys().next().value!);
    } else if (serverLabel !== undefined) {
      state.serverLabel = serverLabel;
    }
    return state;
  }

  #emitList(itemId: string): void {
    const state = this.#lists.get(itemId);
    if (!state || state.status === null) return;
    this.#deps.emit('mcp_tools', { itemId, serverLabel: state.serverLabel, status: state.status, tools: [...state.tools] });
  }

  #malformed(kind: string, error: z.ZodError): void {
    this.#deps.log.warn({ kind, issues: error.issues.slice(0, 3).map((issue) => `${issue.path.join('.')}: ${issue.message}`) }, 'ignored malformed tool item');
  }
}
