/**
 * The tools the bot offers: the function tools of `tools/` (handed in by the composition root, like
 * the slash commands) and the operator's remote MCP servers. Each can be switched off per server;
 * an MCP server is switched by the key `mcp:LABEL`.
 */
import { z } from 'zod';
import type { McpToolSpec, ToolSpec } from '../realtime/index.ts';
import type { ToolDefinition } from './types.ts';

/** Tool names the model may use: lowercase letters, digits and `_` (a subset of what the service accepts). */
export const TOOL_NAME = /^[a-z0-9_]{1,64}$/;

/** The per-server switch key of an MCP server. */
export function mcpKey(serverLabel: string): string {
  return `mcp:${serverLabel}`;
}

/** One entry of the list admins see in /tools. */
export interface ToolEntry {
  key: string;
  kind: 'function' | 'mcp';
  description: string;
  changes: boolean;
}

/** The bot's tools, checked once when the bot is built. */
export class ToolRegistry {
  readonly #functions = new Map<string, ToolDefinition>();
  readonly #specs = new Map<string, ToolSpec>();
  readonly #mcp: McpToolSpec[];

  constructor(definitions: readonly ToolDefinition[], mcpServers: readonly McpToolSpec[] = []) {
    for (const tool of definitions) {
      if (!TOOL_NAME.test(tool.name)) throw new Error(`tool name "${tool.name}" must be 1-64 lowercase letters, digits or _`);
      if (this.#functions.has(tool.name)) throw new Error(`two tools are named "${tool.name}"`);
      if (tool.description.trim().length === 0) throw new Error(`tool "${tool.name}" needs a description`);
      this.#functions.set(tool.name, tool);
      this.#specs.set(tool.name, { type: 'function', name: tool.name, description: tool.description, parameters: jsonSchemaOf(tool.parameters) });
    }
    this.#mcp = [...mcpServers];
  }

  /** A function tool by name. */
  get(name: string): ToolDefinition | undefined {
    return this.#functions.get(name);
  }

  /** Every tool and MCP server, as admins switch them. */
  entries(): ToolEntry[] {
    return [
      ...[...this.#functions.values()].map((tool) => ({ key: tool.name, kind: 'function' as const, description: tool.description, changes: tool.changes })),
      ...this.#mcp.map((server) => ({ key: mcpKey(server.serverLabel), kind: 'mcp' as const, description: server.description ?? `remote MCP server ${server.serverLabel}`, changes: true })),
    ];
  }

  /** Whether a key names a tool or MCP server of this registry. */
  has(key: string): boolean {
    return this.#functions.has(key) || this.#mcp.some((server) => mcpKey(server.serverLabel) === key);
  }

  /** The session's tools for a server, without the ones it switched off. */
  specs(disabled: ReadonlySet<string>): ToolSpec[] {
    return [
      ...[...this.#specs.entries()].filter(([name]) => !disabled.has(name)).map(([, spec]) => spec),
      ...this.#mcp.filter((server) => !disabled.has(mcpKey(server.serverLabel))),
    ];
  }

  /** The MCP server of a label. */
  mcpServer(serverLabel: string): McpToolSpec | undefined {
    return this.#mcp.find((server) => server.serverLabel === serverLabel);
  }
}

/** The JSON Schema of a tool's arguments, as the model sees it (without the `$schema` marker). */
export function jsonSchemaOf(schema: z.ZodObject): Record<string, unknown> {
  const { $schema: _marker, ...rest } = z.toJSONSchema(schema) as Record<string, unknown>;
  return rest;
}
