/**
 * Simulated remote MCP servers, reached by the simulated service (never by the bot): the service lists
 * a server's tools when a session gets it in `session.tools` and runs its tools for the model. Servers
 * are given to the simulator by URL; a URL it does not know fails like an unreachable host.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SimMcpTool } from './tools.ts';

/** A tool of a simulated MCP server. */
export interface SimMcpServerTool {
  name: string;
  description?: string;
  input_schema?: Record<string, unknown>;
}

/** An MCP error as the service reports it on the `mcp_call` item (openai package RealtimeMcpToolCall.error). */
export type SimMcpError =
  | { type: 'tool_execution_error'; message: string }
  | { type: 'http_error'; code: number; message: string }
  | { type: 'protocol_error'; code: number; message: string };

/** A simulated remote MCP server. */
export interface SimMcpServer {
  tools: SimMcpServerTool[];
  /** Headers every request must carry (the credentials the operator configured); else HTTP 401. */
  requireHeaders?: Record<string, string>;
  /** Listing the tools fails (the server is down, misconfigured…). */
  failList?: boolean;
  /** What a call returns (default: echoes the tool and arguments). */
  call?: (tool: string, args: string) => { output: string } | { error: SimMcpError };
  /** Time each request takes, ms (default 20). */
  delayMs?: number;
}

/** A request the simulated service made to an MCP server (for tests to inspect). */
export interface SimMcpRequest {
  url: string;
  kind: 'list' | 'call';
  tool?: string;
  headers: Record<string, string>;
}

/** The simulated service's side of MCP: the servers it can reach and the requests it made. */
export class SimMcpNetwork {
  readonly #servers: Record<string, SimMcpServer>;
  readonly requests: SimMcpRequest[] = [];

  constructor(servers: Record<string, SimMcpServer> = {}) {
    this.#servers = servers;
  }

  /** Lists the tools a session may use from this server (its allowed tools only). */
  async list(server: SimMcpTool): Promise<{ tools: SimMcpServerTool[] } | { error: SimMcpError }> {
    const target = await this.#reach(server, 'list');
    if ('error' in target) return target;
    if (target.server.failList) return { error: { type: 'http_error', code: 500, message: 'Internal Server Error' } };
    const allowed = server.allowedTools;
    return { tools: target.server.tools.filter((tool) => allowed === null || allowed.includes(tool.name)) };
  }

  /** Runs a tool of the server. */
  async call(server: SimMcpTool, tool: string, args: string): Promise<{ output: string } | { error: SimMcpError }> {
    const target = await this.#reach(server, 'call', tool);
    if ('error' in target) return target;
    const known = target.server.tools.some((entry) => entry.name === tool) && (server.allowedTools === null || server.allowedTools.includes(tool));
    if (!known) return { error: { type: 'protocol_error', code: -32602, message: `Unknown tool: ${tool}` } };
    return target.server.call?.(tool, args) ?? { output: `${tool} called with ${args}` };
  }

  async #reach(server: SimMcpTool, kind: 'list' | 'call', tool?: string): Promise<{ server: SimMcpServer } | { error: SimMcpError }> {
    const found = this.#servers[server.serverUrl];
    this.requests.push({ url: server.serverUrl, kind, ...(tool === undefined ? {} : { tool }), headers: { ...server.headers } });
    if (this.requests.length > 1000) this.requests.shift();
    await sleep(found?.delayMs ?? 20);
    if (!found) return { error: { type: 'http_error', code: 502, message: `Could not connect to ${new URL(server.serverUrl).host}` } };
    for (const [name, value] of Object.entries(found.requireHeaders ?? {})) {
      const sent = Object.entries(server.headers).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
      if (sent !== value) return { error: { type: 'http_error', code: 401, message: 'Unauthorized' } };
    }
    return { server: found };
  }
}
