/**
 * Tools in the simulated session: `session.tools` validated like the service (function tools in both
 * dialects; remote MCP servers in GA only — the beta API's `Session.Tool` has `type: 'function'` only,
 * openai package `resources/beta/realtime`), and the simulated model's decision to call a tool.
 *
 * The simulated model calls tools when a scripted trigger appears in the user's turn (typed text, a
 * transcript — see `RealtimeSimulator.scriptTranscript` — or a speaker note):
 * - `⟦call NAME ARGS⟧` calls function NAME with ARGS verbatim (malformed JSON and names the session
 *   does not have included: real models occasionally hallucinate both);
 * - `⟦mcp LABEL TOOL ARGS⟧` calls TOOL of the session's MCP server LABEL;
 * (white square brackets, U+27E6/U+27E7, which no sanitising of user text touches).
 * - a configured {@link SimToolTrigger} phrase calls its tool, but only if the session offers it (a
 *   real model cannot call a tool it was not given).
 * Several triggers in one turn make parallel calls in one response.
 */
import type { SimItem } from './replies.ts';
import { expect, isObject, onlyKeys, SimRequestError, simErrors, type SimDialect } from './wire.ts';

/** A function tool of the session. */
export interface SimFunctionTool {
  type: 'function';
  name: string;
  description: string;
  parameters: unknown;
}

/** A remote MCP server of the session. */
export interface SimMcpTool {
  type: 'mcp';
  serverLabel: string;
  serverUrl: string;
  allowedTools: string[] | null;
  /** Raw `require_approval` (default `always`, as the service's). */
  requireApproval: 'always' | 'never' | { always: string[]; never: string[] };
  headers: Record<string, string>;
}

export type SimTool = SimFunctionTool | SimMcpTool;

/** A phrase that makes the simulated model call a tool. */
export interface SimToolTrigger {
  /** Case-insensitive text to find in the user's turn. */
  phrase: string;
  /** Call this function tool with these arguments (a JSON text, sent as is). */
  call?: { name: string; arguments: string };
  /** Or call this tool of an MCP server. */
  mcp?: { serverLabel: string; tool: string; arguments: string };
}

/** What the simulated model decided to do in a response. */
export type SimToolCall = { kind: 'function'; name: string; arguments: string } | { kind: 'mcp'; serverLabel: string; tool: string; arguments: string };

/** Function names the service accepts (the OpenAI function-name rule). */
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const MCP_KEYS = ['type', 'server_label', 'server_url', 'connector_id', 'authorization', 'headers', 'allowed_tools', 'require_approval', 'server_description', 'allowed_callers', 'defer_loading', 'tunnel_id'];

/** Parses `session.tools`; throws {@link SimRequestError} like the service. */
export function parseSessionTools(value: unknown, dialect: SimDialect, param: string): SimTool[] {
  expect(Array.isArray(value), param, 'an array');
  if (value.length > 128) throw new SimRequestError(simErrors.invalidValue(param, 'at most 128 tools'));
  const labels = new Set<string>();
  return value.map((tool, i) => {
    const where = `${param}[${i}]`;
    expect(isObject(tool), where, 'an object');
    const type = tool.type ?? 'function';
    if (type === 'mcp' && dialect === 'ga') {
      const mcp = parseMcpTool(tool, where);
      if (labels.has(mcp.serverLabel)) throw new SimRequestError(simErrors.invalidValue(`${where}.server_label`, 'server labels must be unique'));
      labels.add(mcp.serverLabel);
      return mcp;
    }
    if (type !== 'function') {
      const supported = dialect === 'ga' ? "'function', 'mcp'" : "'function'";
      throw new SimRequestError({ code: 'invalid_value', message: `Invalid value: '${String(type).slice(0, 64)}'. Supported values are: ${supported}.`, param: `${where}.type` });
    }
    onlyKeys(tool, ['type', 'name', 'description', 'parameters'], where);
    if (tool.name === undefined) throw new SimRequestError(simErrors.missingParameter(`${where}.name`));
    expect(typeof tool.name === 'string', `${where}.name`, 'a string');
    if (!FUNCTION_NAME.test(tool.name)) {
      throw new SimRequestError({ code: 'invalid_value', message: `Invalid '${where}.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`, param: `${where}.name` });
    }
    if (tool.description !== undefined) expect(typeof tool.description === 'string', `${where}.description`, 'a string');
    if (tool.parameters !== undefined) expect(isObject(tool.parameters), `${where}.parameters`, 'an object (JSON Schema)');
    return { type: 'function', name: tool.name, description: (tool.description as string | undefined) ?? '', parameters: tool.parameters ?? {} };
  });
}

function stringList(value: unknown, param: string): string[] {
  expect(Array.isArray(value) && value.every((entry) => typeof entry === 'string'), param, 'an array of strings');
  return value as string[];
}

function parseMcpTool(tool: Record<string, unknown>, where: string): SimMcpTool {
  onlyKeys(tool, MCP_KEYS, where);
  if (tool.server_label === undefined) throw new SimRequestError(simErrors.missingParameter(`${where}.server_label`));
  expect(typeof tool.server_label === 'string' && tool.server_label.length > 0, `${where}.server_label`, 'a non-empty string');
  if (tool.server_url === undefined && tool.connector_id === undefined) {
    throw new SimRequestError({ code: 'missing_required_parameter', message: `One of '${where}.server_url' or '${where}.connector_id' must be provided.`, param: `${where}.server_url` });
  }
  if (tool.server_url !== undefined) {
    expect(typeof tool.server_url === 'string' && /^https?:\/\/\S+$/.test(tool.server_url), `${where}.server_url`, 'an http(s) URL');
  }
  let allowedTools: string[] | null = null;
  if (tool.allowed_tools !== undefined && tool.allowed_tools !== null) {
    if (Array.isArray(tool.allowed_tools)) allowedTools = stringList(tool.allowed_tools, `${where}.allowed_tools`);
    else {
      expect(isObject(tool.allowed_tools), `${where}.allowed_tools`, 'an array of tool names or a filter object');
      onlyKeys(tool.allowed_tools, ['tool_names', 'read_only'], `${where}.allowed_tools`);
      allowedTools = tool.allowed_tools.tool_names === undefined ? null : stringList(tool.allowed_tools.tool_names, `${where}.allowed_tools.tool_names`);
    }
  }
  let requireApproval: SimMcpTool['requireApproval'] = 'always';
  const approval = tool.require_approval;
  if (approval === 'always' || approval === 'never') requireApproval = approval;
  else if (approval !== undefined && approval !== null) {
    expect(isObject(approval), `${where}.require_approval`, "'always', 'never' or a filter object");
    onlyKeys(approval, ['always', 'never'], `${where}.require_approval`);
    const names = (key: 'always' | 'never') => {
      const filter = approval[key];
      if (filter === undefined) return [];
      expect(isObject(filter), `${where}.require_approval.${key}`, 'a filter object');
      onlyKeys(filter, ['tool_names', 'read_only'], `${where}.require_approval.${key}`);
      return filter.tool_names === undefined ? [] : stringList(filter.tool_names, `${where}.require_approval.${key}.tool_names`);
    };
    requireApproval = { always: names('always'), never: names('never') };
  }
  let headers: Record<string, string> = {};
  if (tool.headers !== undefined && tool.headers !== null) {
    expect(isObject(tool.headers) && Object.values(tool.headers).every((v) => typeof v === 'string'), `${where}.headers`, 'an object of strings');
    headers = tool.headers as Record<string, string>;
  }
  if (tool.authorization !== undefined) {
    expect(typeof tool.authorization === 'string', `${where}.authorization`, 'a string');
    headers = { ...headers, Authorization: `Bearer ${tool.authorization}` };
  }
  return { type: 'mcp', serverLabel: tool.server_label, serverUrl: (tool.server_url as string | undefined) ?? `connector:${String(tool.connector_id)}`, allowedTools, requireApproval, headers };
}

/** The session's tools as `session.updated` shows them (MCP headers are credentials: not echoed). */
export function toolsToWire(tools: readonly SimTool[]): Record<string, unknown>[] {
  return tools.map((tool) =>
    tool.type === 'function'
      ? { type: 'function', name: tool.name, description: tool.description, parameters: tool.parameters }
      : {
          type: 'mcp',
          server_label: tool.serverLabel,
          server_url: tool.serverUrl,
          allowed_tools: tool.allowedTools,
          require_approval: typeof tool.requireApproval === 'string' ? tool.requireApproval : { always: { tool_names: tool.requireApproval.always }, never: { tool_names: tool.requireApproval.never } },
        },
  );
}

/** Parses `tool_choice` (`auto`, `none`, `required`, or a named function / MCP tool). */
export function parseToolChoice(value: unknown, param: string): void {
  if (value === 'auto' || value === 'none' || value === 'required') return;
  expect(isObject(value), param, "'auto', 'none', 'required' or an object");
  if (value.type !== 'function' && value.type !== 'mcp') throw new SimRequestError(simErrors.invalidValue(`${param}.type`, "expected 'function' or 'mcp'"));
}

/** Whether a call of `tool` on this server needs an approval first. */
export function needsApproval(server: SimMcpTool, tool: string): boolean {
  const policy = server.requireApproval;
  if (policy === 'never') return false;
  if (policy === 'always') return true;
  if (policy.never.includes(tool)) return false;
  return true; // listed under `always`, or not listed: the service's default is to ask
}

const INLINE_CALL = /⟦call\s+([^⟧\s]+)\s*([^⟧]*)⟧/g;
const INLINE_MCP = /⟦mcp\s+([^⟧\s]+)\s+([^⟧\s]+)\s*([^⟧]*)⟧/g;

/**
 * The tool calls the simulated model makes for the current user turn (the user items since the last
 * assistant item that none has answered yet): inline triggers, then configured phrases.
 */
export function decideToolCalls(turn: readonly SimItem[], tools: readonly SimTool[], triggers: readonly SimToolTrigger[]): SimToolCall[] {
  const calls: SimToolCall[] = [];
  const text = turn.map((item) => item.text).join('\n');
  for (const match of text.matchAll(INLINE_CALL)) calls.push({ kind: 'function', name: match[1]!, arguments: match[2]!.trim() || '{}' });
  for (const match of text.matchAll(INLINE_MCP)) calls.push({ kind: 'mcp', serverLabel: match[1]!, tool: match[2]!, arguments: match[3]!.trim() || '{}' });
  const lower = text.toLowerCase();
  for (const trigger of triggers) {
    if (!lower.includes(trigger.phrase.toLowerCase())) continue;
    if (trigger.call && tools.some((tool) => tool.type === 'function' && tool.name === trigger.call!.name)) {
      calls.push({ kind: 'function', name: trigger.call.name, arguments: trigger.call.arguments });
    }
    if (trigger.mcp && tools.some((tool) => tool.type === 'mcp' && tool.serverLabel === trigger.mcp!.serverLabel)) {
      calls.push({ kind: 'mcp', serverLabel: trigger.mcp.serverLabel, tool: trigger.mcp.tool, arguments: trigger.mcp.arguments });
    }
  }
  return calls;
}
