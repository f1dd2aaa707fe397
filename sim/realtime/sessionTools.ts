/**
 * The tool side of one simulated session: listing the tools of the MCP servers a `session.update`
 * adds (`mcp_list_tools` item, `mcp_list_tools.in_progress`, then `completed` with the item's tools or
 * `failed`), tool items the client creates (`function_call_output`, `mcp_approval_response`) checked
 * like the service checks them, and the tool steps of the next response.
 */
import type { SimMcpNetwork } from './mcp.ts';
import type { SimItem } from './replies.ts';
import { planSteps, type ToolStep } from './toolSteps.ts';
import { decideToolCalls, needsApproval, type SimMcpTool, type SimTool, type SimToolTrigger } from './tools.ts';
import { expect, isObject, onlyKeys, SimRequestError, simErrors, type SimDialect } from './wire.ts';

/** Simulator-wide tool settings, shared by its sessions. */
export interface SimToolsOptions {
  triggers: SimToolTrigger[];
  mcp: SimMcpNetwork;
}

/** What the session gives its tool side. */
export interface SessionToolsHost {
  readonly dialect: SimDialect;
  readonly items: SimItem[];
  readonly closed: boolean;
  send(gaName: string, body: Record<string, unknown>): void;
  newItemId(): string;
}

/** Tool state of one session. */
export class SessionTools {
  readonly #host: SessionToolsHost;
  readonly #options: SimToolsOptions;
  /** User items whose triggers were acted on (a trigger fires once). */
  readonly #used = new Set<string>();
  /** Approval requests already answered. */
  readonly #answered = new Set<string>();

  constructor(host: SessionToolsHost, options: SimToolsOptions) {
    this.#host = host;
    this.#options = options;
  }

  /** The session's tools changed: servers that are new (or whose configuration changed) are listed again. */
  toolsUpdated(before: readonly SimTool[], after: readonly SimTool[]): void {
    for (const server of after) {
      if (server.type !== 'mcp') continue;
      const previous = before.find((tool) => tool.type === 'mcp' && tool.serverLabel === server.serverLabel);
      if (previous && JSON.stringify(previous) === JSON.stringify(server)) continue;
      void this.#list(server);
    }
  }

  async #list(server: SimMcpTool): Promise<void> {
    const h = this.#host;
    const id = h.newItemId();
    const previous = h.items.at(-1)?.id ?? null;
    const wire = { id, type: 'mcp_list_tools', server_label: server.serverLabel, tools: [] as unknown[] };
    h.items.push({ id, type: 'mcp_list_tools', role: 'system', text: '', audioMs: null, status: 'in_progress', tool: { serverLabel: server.serverLabel } });
    h.send('conversation.item.added', { previous_item_id: previous, item: wire });
    h.send('mcp_list_tools.in_progress', { item_id: id });
    const result = await this.#options.mcp.list(server);
    if (h.closed) return;
    if ('error' in result) {
      h.send('mcp_list_tools.failed', { item_id: id });
      return;
    }
    wire.tools = result.tools.map((tool) => ({ name: tool.name, description: tool.description ?? null, input_schema: tool.input_schema ?? { type: 'object', properties: {} }, annotations: null }));
    h.send('mcp_list_tools.completed', { item_id: id });
    h.send('conversation.item.done', { previous_item_id: previous, item: wire });
  }

  /**
   * A `conversation.item.create` of a tool item; returns the item to add, or null for other types.
   * A `function_call_output` must answer a `function_call` of the conversation: the service checks
   * this (openai package ConversationItemWithReference.call_id: "the server will check that a
   * function_call item with the same ID exists in the conversation history") and refuses it with the
   * wording of its Responses API ("No tool call found for function call output with call_id …",
   * `invalid_request_error`, code null).
   */
  createItem(item: unknown): SimItem | null {
    if (!isObject(item)) return null;
    const h = this.#host;
    if (item.type === 'function_call_output') {
      onlyKeys(item, ['id', 'type', 'object', 'status', 'call_id', 'output'], 'item');
      if (item.call_id === undefined) throw new SimRequestError(simErrors.missingParameter('item.call_id'));
      expect(typeof item.call_id === 'string', 'item.call_id', 'a string');
      if (item.output === undefined) throw new SimRequestError(simErrors.missingParameter('item.output'));
      expect(typeof item.output === 'string', 'item.output', 'a string');
      const call = h.items.find((candidate) => candidate.type === 'function_call' && candidate.tool?.callId === item.call_id);
      if (!call) {
        throw new SimRequestError({ code: null, message: `No tool call found for function call output with call_id ${item.call_id.slice(0, 64)}.`, param: 'item.call_id' });
      }
      return { id: this.#id(item), type: 'function_call_output', role: 'user', text: '', audioMs: null, status: 'completed', tool: { callId: item.call_id, output: item.output } };
    }
    if (item.type === 'mcp_approval_response') {
      if (h.dialect !== 'ga') throw new SimRequestError({ code: 'invalid_value', message: "Invalid value: 'mcp_approval_response'. Supported values are: 'message', 'function_call', 'function_call_output'.", param: 'item.type' });
      onlyKeys(item, ['id', 'type', 'object', 'approval_request_id', 'approve', 'reason'], 'item');
      if (item.approval_request_id === undefined) throw new SimRequestError(simErrors.missingParameter('item.approval_request_id'));
      expect(typeof item.approval_request_id === 'string', 'item.approval_request_id', 'a string');
      expect(typeof item.approve === 'boolean', 'item.approve', 'a boolean');
      const request = h.items.find((candidate) => candidate.id === item.approval_request_id && candidate.type === 'mcp_approval_request');
      if (!request) throw new SimRequestError({ code: 'item_not_found', message: `Item with item_id '${item.approval_request_id.slice(0, 64)}' not found.`, param: 'item.approval_request_id' });
      if (this.#answered.has(request.id)) throw new SimRequestError(simErrors.invalidValue('item.approval_request_id', 'this approval request was already answered'));
      this.#answered.add(request.id);
      return { id: this.#id(item), type: 'mcp_approval_response', role: 'user', text: '', audioMs: null, status: 'completed', tool: { approvalRequestId: request.id, approve: item.approve } };
    }
    return null;
  }

  /** The wire form of an item this side created (for `conversation.item.added`). */
  wireItem(item: SimItem): Record<string, unknown> {
    if (item.type === 'function_call_output') return { id: item.id, object: 'realtime.item', type: item.type, status: 'completed', call_id: item.tool?.callId, output: item.tool?.output };
    return { id: item.id, type: item.type, approval_request_id: item.tool?.approvalRequestId, approve: item.tool?.approve, reason: null };
  }

  /** The tool steps of an in-band response over the conversation (none: the model just talks). */
  stepsForResponse(tools: readonly SimTool[]): ToolStep[] {
    const items = this.#host.items;
    const servers = tools.filter((tool): tool is SimMcpTool => tool.type === 'mcp');
    const last = items.filter((item) => item.type !== 'mcp_list_tools').at(-1);
    if (last?.type === 'mcp_approval_response' && !this.#used.has(last.id)) {
      this.#used.add(last.id);
      const request = items.find((item) => item.id === last.tool?.approvalRequestId);
      if (!last.tool?.approve || !request?.tool) return [];
      const serverLabel = request.tool.serverLabel ?? '';
      const server = servers.find((candidate) => candidate.serverLabel === serverLabel) ?? null;
      return [{ kind: 'mcp_call', server, serverLabel, tool: request.tool.name ?? '', arguments: request.tool.arguments ?? '{}', approvalRequestId: request.id }];
    }
    let start = items.length;
    while (start > 0 && items[start - 1]!.role !== 'assistant') start--;
    const turn = items.slice(start).filter((item) => item.type === 'message' && item.role === 'user' && !this.#used.has(item.id));
    const steps = planSteps(decideToolCalls(turn, tools, this.#options.triggers), servers, needsApproval);
    if (steps.length > 0) for (const item of turn) this.#used.add(item.id);
    return steps;
  }

  #id(item: Record<string, unknown>): string {
    if (item.id === undefined) return this.#host.newItemId();
    expect(typeof item.id === 'string' && item.id.length > 0 && item.id.length <= 32, 'item.id', 'a string of at most 32 characters');
    if (this.#host.items.some((existing) => existing.id === item.id)) throw new SimRequestError({ code: 'item_already_exists', message: `Item with id '${item.id}' already exists.`, param: 'item.id' });
    return item.id;
  }
}
