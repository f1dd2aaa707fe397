/**
 * The tools part of the configuration: how long a tool may run, the filler that avoids dead air, the
 * permission tools that change something require, and the operator's remote MCP servers
 * (`MCP_SERVERS`, a JSON array). Problems are collected with the rest of the configuration's.
 */
import type { McpApprovalPolicy, McpToolSpec } from '../realtime/index.ts';

/** What the bot does while a function tool runs longer than {@link ToolsConfig.fillerAfterMs}. */
export type FillerMode = 'speech' | 'cue' | 'off';

/** The validated tools configuration. */
export interface ToolsConfig {
  /** A function tool that has not returned after this long gets a timeout result. */
  timeoutMs: number;
  /** `speech`: the model says a short "one moment"; `cue`: a soft sound; `off`: silence. */
  filler: FillerMode;
  /** How long a tool may run before the filler. */
  fillerAfterMs: number;
  /** Discord permission (flag name) a member needs to use tools that change something, and to approve MCP calls. */
  permission: string;
  /** Remote MCP servers offered to the model (GA dialect only: the beta API has function tools only). */
  mcpServers: McpToolSpec[];
}

/** The environment variables of the tools configuration (raw strings, as in process.env). */
export interface ToolsEnv {
  TOOL_TIMEOUT_SECONDS: number;
  TOOL_FILLER: string | undefined;
  TOOL_FILLER_AFTER_MS: number;
  MCP_SERVERS: string | undefined;
}

const LABEL = /^[a-zA-Z0-9_-]{1,64}$/;
const KNOWN_KEYS = ['label', 'url', 'description', 'allowedTools', 'requireApproval', 'headers'];

/**
 * Parses the tools settings; appends a sentence per problem. `permission` is the already-resolved
 * TOOLS_PERMISSION flag name.
 */
export function resolveToolsConfig(env: ToolsEnv, permission: string, problems: string[]): ToolsConfig {
  const filler = (env.TOOL_FILLER ?? 'speech').toLowerCase();
  if (filler !== 'speech' && filler !== 'cue' && filler !== 'off') problems.push(`TOOL_FILLER must be speech, cue or off (got "${env.TOOL_FILLER}")`);
  return {
    timeoutMs: env.TOOL_TIMEOUT_SECONDS * 1000,
    filler: filler as FillerMode,
    fillerAfterMs: env.TOOL_FILLER_AFTER_MS,
    permission,
    mcpServers: parseMcpServers(env.MCP_SERVERS, problems),
  };
}

/**
 * `MCP_SERVERS`: `[{"label": "docs", "url": "https://…", "allowedTools": ["search"],
 * "requireApproval": "never", "headers": {"Authorization": "Bearer …"}, "description": "…"}]`.
 * Approval defaults to "never" only for the tools explicitly allowed; a server whose tools are not
 * listed asks for approval of every call.
 */
export function parseMcpServers(text: string | undefined, problems: string[]): McpToolSpec[] {
  if (text === undefined || text.trim() === '') return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // The text may hold credentials: never echoed.
    problems.push('MCP_SERVERS must be a JSON array of servers, e.g. [{"label":"docs","url":"https://example.com/mcp","allowedTools":["search"]}] (it is not valid JSON)');
    return [];
  }
  if (!Array.isArray(raw)) {
    problems.push('MCP_SERVERS must be a JSON array of servers (got a JSON value that is not an array)');
    return [];
  }
  const servers: McpToolSpec[] = [];
  const labels = new Set<string>();
  raw.forEach((entry: unknown, index) => {
    const where = `MCP_SERVERS[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${where} must be an object with label and url`);
      return;
    }
    const server = entry as Record<string, unknown>;
    const before = problems.length;
    const unknown = Object.keys(server).filter((key) => !KNOWN_KEYS.includes(key));
    if (unknown.length > 0) problems.push(`${where} has unknown keys: ${unknown.map((key) => key.slice(0, 40)).join(', ')} (known: ${KNOWN_KEYS.join(', ')})`);
    const label = server.label;
    if (typeof label !== 'string' || !LABEL.test(label)) problems.push(`${where}.label must be 1-64 letters, digits, _ or - (the name the model and /status show)`);
    else if (labels.has(label)) problems.push(`${where}.label "${label}" is used twice: labels must be unique`);
    else labels.add(label);
    const url = typeof server.url === 'string' ? safeUrl(server.url) : null;
    if (!url) problems.push(`${where}.url must be an http(s) URL the model service can reach`);
    const allowedTools = server.allowedTools;
    if (allowedTools !== undefined && (!Array.isArray(allowedTools) || allowedTools.length === 0 || !allowedTools.every((name) => typeof name === 'string' && name.length > 0))) {
      problems.push(`${where}.allowedTools must be a non-empty array of tool names`);
    }
    const approval = server.requireApproval;
    if (approval !== undefined && approval !== 'always' && approval !== 'never') problems.push(`${where}.requireApproval must be "always" or "never"`);
    const headers = server.headers;
    if (headers !== undefined && (typeof headers !== 'object' || headers === null || Array.isArray(headers) || !Object.values(headers).every((value) => typeof value === 'string'))) {
      problems.push(`${where}.headers must be an object of header names to string values`);
    }
    if (server.description !== undefined && typeof server.description !== 'string') problems.push(`${where}.description must be a string`);
    if (problems.length > before) return;
    const allowed = allowedTools as string[] | undefined;
    servers.push({
      type: 'mcp',
      serverLabel: label as string,
      serverUrl: url!,
      ...(typeof server.description === 'string' ? { description: server.description } : {}),
      ...(allowed ? { allowedTools: [...allowed] } : {}),
      requireApproval: approvalPolicy(approval as 'always' | 'never' | undefined, allowed),
      ...(headers ? { headers: { ...(headers as Record<string, string>) } } : {}),
    });
  });
  return servers;
}

/** The approval policy: as configured, else "never" for the explicitly allowed tools and "always" otherwise. */
export function approvalPolicy(configured: 'always' | 'never' | undefined, allowedTools: readonly string[] | undefined): McpApprovalPolicy {
  if (configured) return configured;
  return allowedTools ? { never: [...allowedTools] } : 'always';
}

function safeUrl(text: string): string | null {
  if (/\s/.test(text)) return null;
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:' ? text : null;
  } catch {
    return null;
  }
}

/**
 * The secrets of the MCP configuration, for the log scrubber: every header value (and a bearer
 * token's token part), and the password and query values of each URL.
 */
export function mcpSecrets(servers: readonly McpToolSpec[]): string[] {
  const secrets: string[] = [];
  for (const server of servers) {
    for (const value of Object.values(server.headers ?? {})) {
      secrets.push(value);
      const token = /^\s*(?:bearer|basic|token)\s+(\S+)\s*$/i.exec(value)?.[1];
      if (token) secrets.push(token);
    }
    try {
      const url = new URL(server.serverUrl);
      if (url.password) secrets.push(decodeURIComponent(url.password));
      for (const value of url.searchParams.values()) secrets.push(value);
    } catch {
      // validated when loaded
    }
  }
  return secrets.filter((secret) => secret.length > 0);
}
