/**
 * The realtime client's tool plumbing against the simulator, in both dialects: tools in the session
 * configuration, function calls announced once with their response, results sent only where the
 * service can take them, a rotation waiting for an owed result, and (GA) remote MCP servers' listing,
 * calls, failures and approvals reported as events.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RealtimeSimulator } from '../../sim/realtime/index.ts';
import type { FunctionCall, McpApprovalRequest, McpCallEvent, McpToolsEvent, ToolSpec } from '../../src/realtime/index.ts';
import { botSession, makeClient, startSim, until, waitFor } from './helpers.ts';

const WHO: ToolSpec = { type: 'function', name: 'who_is_here', description: 'Who is in the voice channel', parameters: { type: 'object', properties: {} } };
const DOCS: ToolSpec = { type: 'mcp', serverLabel: 'docs', serverUrl: 'https://docs.example/mcp', allowedTools: ['search'], requireApproval: { never: ['search'] }, headers: { Authorization: 'Bearer docs-secret' } };
const ASKS: ToolSpec = { type: 'mcp', serverLabel: 'asks', serverUrl: 'https://docs.example/mcp', requireApproval: 'always', headers: { Authorization: 'Bearer docs-secret' } };
const DOWN: ToolSpec = { type: 'mcp', serverLabel: 'down', serverUrl: 'https://down.example/mcp', requireApproval: 'never' };
const textSession = () => botSession({ outputModalities: ['text'], turnDetection: { type: 'manual' }, inputTranscription: null, tools: [WHO, DOCS, ASKS, DOWN] });

for (const dialect of ['ga', 'beta'] as const) {
  describe(`realtime client tools (${dialect})`, () => {
    let sim: RealtimeSimulator;
    before(async () => {
      sim = await startSim({
        betaNaming: 'mixed',
        mcpServers: {
          'https://docs.example/mcp': { tools: [{ name: 'search' }, { name: 'drop' }], requireHeaders: { Authorization: 'Bearer docs-secret' }, call: (tool, args) => (args.includes('boom') ? { error: { type: 'tool_execution_error', message: 'exploded' } } : { output: `${tool}: ${args}` }) },
        },
      });
    });
    after(() => sim.close());

    it('sends function tools in both dialects and MCP servers only in GA', async () => {
      const client = makeClient(sim, dialect, { session: textSession() });
      const lists: McpToolsEvent[] = [];
      client.on('mcp_tools', (event) => lists.push(event));
      await client.connect();
      const session = sim.sessions.at(-1)!;
      assert.deepEqual(
        session.config.tools.map((tool) => (tool.type === 'function' ? tool.name : tool.serverLabel)),
        dialect === 'ga' ? ['who_is_here', 'docs', 'asks', 'down'] : ['who_is_here'],
      );
      if (dialect === 'ga') {
        // Wait for each server's own outcome: a server may report again (a later session.update lists its
        // tools anew), so three outcomes can arrive before the third server's first.
        const finished = () => lists.filter((event) => event.status !== 'in_progress');
        await until(() => new Set(finished().map((event) => event.serverLabel)).size >= 3);
        const outcome = Object.fromEntries(finished().map((event) => [event.serverLabel, event.status]));
        assert.deepEqual(outcome, { docs: 'completed', asks: 'completed', down: 'failed' });
        await until(() => lists.some((event) => event.serverLabel === 'docs' && event.tools.length > 0));
        assert.deepEqual(lists.findLast((event) => event.serverLabel === 'docs')!.tools, ['search']);
      }
      await client.close();
    });

    it('announces a function call once, takes its result once, and the follow-up answers with it', async () => {
      const client = makeClient(sim, dialect, { session: textSession() });
      await client.connect();
      const calls: FunctionCall[] = [];
      client.on('function_call', (call) => calls.push(call));
      client.addUserText('⟦call who_is_here {"verbose": true}⟧');
      const handle = client.createResponse();
      const result = await handle.done;
      assert.equal(result.status, 'completed');
      assert.equal(calls.length, 1, 'announced once (arguments.done and output_item.done both carry it)');
      const [call] = calls;
      assert.equal(call!.name, 'who_is_here');
      assert.equal(call!.arguments, '{"verbose": true}');
      assert.equal(call!.handle, handle);
      assert.equal(call!.interrupted, false);
      assert.deepEqual(result.functionCallIds, [call!.callId]);
      assert.deepEqual(result.itemIds, [], 'a function call is not a reply item');
      assert.equal(client.owedFunctionResults, 1);
      assert.equal(client.sendFunctionOutput('call_unknown', 'x'), false, 'an unknown call is refused locally');
      assert.equal(client.sendFunctionOutput(call!.callId, '{"members":["Alice"]}'), true);
      assert.equal(client.sendFunctionOutput(call!.callId, 'again'), false, 'a call is answered once');
      assert.equal(client.owedFunctionResults, 0);
      const followUp = await client.createResponse().done;
      assert.equal(followUp.text, 'Reply 2. The who_is_here tool answered: {"members":["Alice"]}');
      assert.equal(sim.sessions.at(-1)!.items.filter((item) => item.type === 'function_call_output').length, 1);
      await client.close();
    });

    it('marks a call cut off by a cancel as interrupted', async () => {
      const client = makeClient(sim, dialect, { session: textSession() });
      await client.connect();
      client.addUserText('⟦call who_is_here {"a": "a long argument to stream in several deltas"}⟧');
      const handle = client.createResponse();
      handle.once('text', () => undefined);
      client.once('response_started', () => client.cancelResponse());
      const call = await waitFor<FunctionCall>(client, 'function_call');
      assert.equal(call.interrupted, true);
      assert.equal((await handle.done).status, 'cancelled');
      await client.close();
    });

    it('a rotation waits for an owed result, which reaches the session that asked for it', async () => {
      const client = makeClient(sim, dialect, { session: textSession() });
      await client.connect();
      const first = sim.sessions.at(-1)!;
      client.addUserText('⟦call who_is_here {}⟧');
      const call = waitFor<FunctionCall>(client, 'function_call');
      await client.createResponse().done;
      const { callId } = await call;
      const rotated = waitFor(client, 'rotated');
      client.rotate();
      await sleep(100); // the tool takes a while
      assert.equal(client.sendFunctionOutput(callId, 'done'), true, 'still the session that made the call');
      // The follow-up is asked for right after the result, before the rotation can start: it answers there.
      const followUp = await client.createResponse().done;
      assert.equal(followUp.text, 'Reply 2. The who_is_here tool answered: done');
      await rotated;
      assert.ok(first.items.some((item) => item.type === 'function_call_output' && item.tool?.callId === callId));
      assert.notEqual(sim.sessions.at(-1), first);
      // The new session knows the result from the re-seeded history.
      await until(() => sim.sessions.at(-1)!.items.some((item) => item.text === '[who_is_here result: done]'));
      await client.close();
    });

    if (dialect === 'ga') {
      it('reports MCP calls and their failures, and runs an approved call after the approval', async () => {
        const client = makeClient(sim, dialect, { session: textSession() });
        const mcpCalls: McpCallEvent[] = [];
        client.on('mcp_call', (event) => mcpCalls.push(event));
        await client.connect();
        client.addUserText('⟦mcp docs search "cats"⟧');
        const answered = await client.createResponse().done;
        assert.equal(answered.text, 'Reply 1. The docs search tool answered: search: "cats"');
        assert.deepEqual(mcpCalls.map(({ serverLabel, name, status }) => ({ serverLabel, name, status })), [{ serverLabel: 'docs', name: 'search', status: 'completed' }]);
        client.addUserText('⟦mcp docs search "boom"⟧');
        await client.createResponse().done;
        assert.deepEqual(mcpCalls.at(-1), { itemId: mcpCalls.at(-1)!.itemId, responseId: mcpCalls.at(-1)!.responseId, serverLabel: 'docs', name: 'search', status: 'failed', error: 'tool_execution_error: exploded' });
        client.addUserText('⟦mcp docs drop {}⟧');
        await client.createResponse().done;
        assert.equal(mcpCalls.at(-1)!.status, 'failed', 'a tool outside allowed_tools fails');
        const request = waitFor<McpApprovalRequest>(client, 'mcp_approval_request');
        client.addUserText('⟦mcp asks search "dogs"⟧');
        const asking = client.createResponse();
        const approval = await request;
        assert.equal(approval.handle, asking);
        assert.equal(approval.name, 'search');
        assert.deepEqual((await asking.done).mcpApprovalIds, [approval.id]);
        assert.equal(client.answerMcpApproval(approval.id, true), true);
        assert.equal(client.answerMcpApproval(approval.id, true), false, 'answered once');
        const after = await client.createResponse().done;
        assert.equal(after.text, 'Reply 5. The asks search tool answered: search: "dogs"');
        await client.close();
      });
    }
  });
}
