/**
 * The tool output items of a simulated response, streamed with the events the service sends for them
 * (openai package `resources/realtime/realtime`: ResponseOutputItemAdded/Done, ConversationItemAdded/
 * Done, ResponseFunctionCallArgumentsDelta/Done, ResponseMcpCallArgumentsDelta/Done,
 * ResponseMcpCallInProgress/Completed/Failed; items RealtimeConversationItemFunctionCall,
 * RealtimeMcpToolCall, RealtimeMcpApprovalRequest). A function call or an approval request ends the
 * response (the client answers, then asks for a new one); an MCP call is run by the service and the
 * model goes on to speak about its result in the same response.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SimMcpNetwork } from './mcp.ts';
import type { SimItem } from './replies.ts';
import type { SimMcpTool, SimToolCall } from './tools.ts';
import type { SimDialect } from './wire.ts';

/** One tool output item a response will produce. */
export type ToolStep =
  | { kind: 'function'; name: string; arguments: string }
  | { kind: 'mcp_call'; server: SimMcpTool | null; serverLabel: string; tool: string; arguments: string; approvalRequestId: string | null }
  | { kind: 'mcp_approval'; serverLabel: string; tool: string; arguments: string };

/** What a step needs from its response and session. */
export interface StepHost {
  readonly dialect: SimDialect;
  /** Pause between streamed deltas, ms. */
  readonly deltaPauseMs: number;
  readonly mcp: SimMcpNetwork;
  send(gaName: string, body: Record<string, unknown>): void;
  addItem(item: SimItem): void;
  newItemId(): string;
  /** Whether the response was cancelled (steps stop where they are). */
  cancelled(): boolean;
}

/** Turns the model's decisions into steps for the session's MCP servers (approval first where the policy asks). */
export function planSteps(calls: readonly SimToolCall[], servers: readonly SimMcpTool[], needsApproval: (server: SimMcpTool, tool: string) => boolean): ToolStep[] {
  return calls.map((call): ToolStep => {
    if (call.kind === 'function') return { kind: 'function', name: call.name, arguments: call.arguments };
    const server = servers.find((candidate) => candidate.serverLabel === call.serverLabel) ?? null;
    if (server && needsApproval(server, call.tool)) return { kind: 'mcp_approval', serverLabel: call.serverLabel, tool: call.tool, arguments: call.arguments };
    return { kind: 'mcp_call', server, serverLabel: call.serverLabel, tool: call.tool, arguments: call.arguments, approvalRequestId: null };
  });
}

/** Whether the model speaks after these steps in the same response (only after MCP calls it ran itself). */
export function speaksAfter(steps: readonly ToolStep[]): boolean {
  return steps.every((step) => step.kind === 'mcp_call');
}

/** Streams one step as output item `outputIndex` of response `responseId`; resolves with the item's final wire form. */
export async function runStep(host: StepHost, step: ToolStep, responseId: string, outputIndex: number): Promise<Record<string, unknown>> {
  switch (step.kind) {
    case 'function':
      return functionCall(host, step, responseId, outputIndex);
    case 'mcp_call':
      return mcpCall(host, step, responseId, outputIndex);
    case 'mcp_approval':
      return approvalRequest(host, step, responseId, outputIndex);
  }
}

function announce(host: StepHost, responseId: string, outputIndex: number, wire: Record<string, unknown>): void {
  host.send('response.output_item.added', { response_id: responseId, output_index: outputIndex, item: wire });
  host.send('conversation.item.added', { previous_item_id: null, item: wire });
}

function complete(host: StepHost, responseId: string, outputIndex: number, wire: Record<string, unknown>): void {
  host.send('response.output_item.done', { response_id: responseId, output_index: outputIndex, item: wire });
  if (host.dialect === 'ga') host.send('conversation.item.done', { previous_item_id: null, item: wire });
}

/** Three roughly equal pieces (arguments stream in deltas). */
function pieces(text: string): string[] {
  const size = Math.max(1, Math.ceil(text.length / 3));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

async function functionCall(host: StepHost, step: Extract<ToolStep, { kind: 'function' }>, responseId: string, outputIndex: number): Promise<Record<string, unknown>> {
  const id = host.newItemId();
  const callId = `call_${randomBytes(8).toString('base64url')}`;
  const wire: Record<string, unknown> = { id, object: 'realtime.item', type: 'function_call', status: 'in_progress', name: step.name, call_id: callId, arguments: '' };
  const item: SimItem = { id, type: 'function_call', role: 'assistant', text: '', audioMs: null, status: 'in_progress', tool: { callId, name: step.name, arguments: '' } };
  host.addItem(item);
  announce(host, responseId, outputIndex, { ...wire });
  let sent = '';
  for (const delta of pieces(step.arguments)) {
    await sleep(host.deltaPauseMs);
    if (host.cancelled()) break;
    sent += delta;
    host.send('response.function_call_arguments.delta', { response_id: responseId, item_id: id, output_index: outputIndex, call_id: callId, delta });
  }
  // Also sent when the response was interrupted (openai package: ResponseFunctionCallArgumentsDoneEvent).
  host.send('response.function_call_arguments.done', { response_id: responseId, item_id: id, output_index: outputIndex, call_id: callId, name: step.name, arguments: sent });
  item.status = host.cancelled() ? 'incomplete' : 'completed';
  item.tool!.arguments = sent;
  Object.assign(wire, { status: item.status, arguments: sent });
  complete(host, responseId, outputIndex, wire);
  return wire;
}

async function mcpCall(host: StepHost, step: Extract<ToolStep, { kind: 'mcp_call' }>, responseId: string, outputIndex: number): Promise<Record<string, unknown>> {
  const id = host.newItemId();
  const wire: Record<string, unknown> = { id, type: 'mcp_call', server_label: step.serverLabel, name: step.tool, arguments: '', approval_request_id: step.approvalRequestId, output: null, error: null };
  const item: SimItem = { id, type: 'mcp_call', role: 'assistant', text: '', audioMs: null, status: 'in_progress', tool: { name: step.tool, serverLabel: step.serverLabel, arguments: step.arguments } };
  host.addItem(item);
  announce(host, responseId, outputIndex, { ...wire });
  for (const delta of pieces(step.arguments)) host.send('response.mcp_call_arguments.delta', { response_id: responseId, item_id: id, output_index: outputIndex, delta, obfuscation: null });
  host.send('response.mcp_call_arguments.done', { response_id: responseId, item_id: id, output_index: outputIndex, arguments: step.arguments });
  host.send('response.mcp_call.in_progress', { item_id: id, output_index: outputIndex });
  const result = step.server
    ? await host.mcp.call(step.server, step.tool, step.arguments)
    : { error: { type: 'tool_execution_error' as const, message: `No MCP server labelled '${step.serverLabel}' in this session.` } };
  wire.arguments = step.arguments;
  if ('output' in result) {
    wire.output = result.output;
    item.tool!.output = result.output;
    host.send('response.mcp_call.completed', { item_id: id, output_index: outputIndex });
  } else {
    wire.error = result.error;
    item.tool!.error = result.error.message;
    host.send('response.mcp_call.failed', { item_id: id, output_index: outputIndex });
  }
  item.status = 'completed';
  complete(host, responseId, outputIndex, wire);
  return wire;
}

async function approvalRequest(host: StepHost, step: Extract<ToolStep, { kind: 'mcp_approval' }>, responseId: string, outputIndex: number): Promise<Record<string, unknown>> {
  const id = host.newItemId();
  const wire: Record<string, unknown> = { id, type: 'mcp_approval_request', server_label: step.serverLabel, name: step.tool, arguments: step.arguments };
  host.addItem({ id, type: 'mcp_approval_request', role: 'assistant', text: '', audioMs: null, status: 'completed', tool: { name: step.tool, serverLabel: step.serverLabel, arguments: step.arguments } });
  announce(host, responseId, outputIndex, { ...wire });
  complete(host, responseId, outputIndex, wire);
  return wire;
}
