/**
 * What the tools did in a conversation, for /status: the latest function calls and their outcomes,
 * the state of each remote MCP server (its tool list, or why listing failed) and the latest MCP calls
 * and approvals. Bounded: only the most recent entries are kept.
 */
import type { CallOutcome } from './execution.ts';

/** One recent tool event. */
export interface ToolEvent {
  at: number;
  /** `who_is_here`, or `docs/search` for a tool of MCP server `docs`. */
  tool: string;
  outcome: CallOutcome | 'failed' | 'approved' | 'denied';
  ms?: number;
  detail?: string;
}

/** A remote MCP server as the service reported it in this conversation. */
export interface McpServerState {
  serverLabel: string;
  status: 'listing' | 'ready' | 'failed';
  tools: string[];
}

/** How many recent events are kept. */
const KEEP = 20;

/** The tool activity of one conversation. */
export class ToolActivity {
  readonly #events: ToolEvent[] = [];
  readonly #servers = new Map<string, McpServerState>();
  readonly #counts = new Map<string, number>();

  /** The latest events, newest last. */
  get recent(): readonly ToolEvent[] {
    return this.#events;
  }

  /** Remote MCP servers by label. */
  get servers(): McpServerState[] {
    return [...this.#servers.values()];
  }

  /** Calls by outcome since the conversation started. */
  get counts(): ReadonlyMap<string, number> {
    return this.#counts;
  }

  functionCall(event: { name: string; outcome: CallOutcome; ms: number; detail?: string }): void {
    this.#add({ at: Date.now(), tool: event.name, outcome: event.outcome, ms: Math.round(event.ms), ...(event.detail ? { detail: event.detail } : {}) });
  }

  mcpList(event: { serverLabel: string; status: 'in_progress' | 'completed' | 'failed'; tools: string[] }): void {
    const status = event.status === 'in_progress' ? 'listing' : event.status === 'completed' ? 'ready' : 'failed';
    this.#servers.set(event.serverLabel, { serverLabel: event.serverLabel, status, tools: [...event.tools] });
    if (this.#servers.size > 64) this.#servers.delete(this.#servers.keys().next().value!);
  }

  mcpCall(event: { serverLabel: string; name: string; status: 'completed' | 'failed'; error?: string }): void {
    this.#add({ at: Date.now(), tool: `${event.serverLabel}/${event.name}`, outcome: event.status === 'completed' ? 'ok' : 'failed', ...(event.error ? { detail: event.error } : {}) });
  }

  mcpApproval(event: { serverLabel: string; name: string; approved: boolean }): void {
    this.#add({ at: Date.now(), tool: `${event.serverLabel}/${event.name}`, outcome: event.approved ? 'approved' : 'denied' });
  }

  #add(event: ToolEvent): void {
    this.#events.push(event);
    if (this.#events.length > KEEP) this.#events.shift();
    this.#counts.set(event.outcome, (this.#counts.get(event.outcome) ?? 0) + 1);
  }
}
