/**
 * The simulator's tools, with raw WebSocket clients (no bot code): function calls on a scripted
 * trigger with the service's event sequence, `function_call_output` accepted only for a call of the
 * conversation, remote MCP servers listed and called by the service (failures included), approvals,
 * and the beta dialect's function-only tools.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RealtimeSimulator } from '../../../sim/realtime/index.ts';
import { rawClient, startSim } from '../../realtime/helpers.ts';

const WHO = { type: 'function', name: 'who_is_here', description: 'Who is in the voice channel', parameters: { type: 'object', properties: {} } };
const text = (value: string) => ({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: value }] } });
const GA = (extra: Record<string, unknown> = {}) => ({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'], audio: { input: { turn_detection: null } }, ...extra } });

describe('realtime simulator tools', () => {
  let sim: RealtimeSimulator;
  before(async () => {
    sim = await startSim({
      toolTriggers: [{ phrase: 'who is here', call: { name: 'who_is_here', arguments: '{}' } }],
      mcpServers: {
        'https://docs.example/mcp': { tools: [{ name: 'search' }, { name: 'delete_all' }], requireHeaders: { Authorization: 'Bearer docs-secret' }, call: (tool, args) => ({ output: `found ${args} with ${tool}` }) },
        'https://broken.example/mcp': { tools: [{ name: 'x' }], failList: true },
        'https://flaky.example/mcp': { tools: [{ name: 'fetch' }], call: () => ({ error: { type: 'http_error', code: 503, message: 'Service Unavailable' } }) },
      },
    });
  });
  after(() => sim.close());

  it('calls a function on a trigger phrase with the service event sequence, then answers with its result', async () => {
    const c = await rawClient(sim);
    c.send(GA({ tools: [WHO], tool_choice: 'auto' }));
    const updated = (await c.next('session.updated')).session as { tools: { name: string }[] };
    assert.deepEqual(updated.tools.map((tool) => tool.name), ['who_is_here']);
    c.send(text('[speaker: Alice] who is here right now?'));
    c.send({ type: 'response.create' });
    const added = (await c.next('response.output_item.added')).item as Record<string, unknown>;
    assert.equal(added.type, 'function_call');
    assert.equal(added.status, 'in_progress');
    const done = await c.next('response.function_call_arguments.done');
    assert.equal(done.name, 'who_is_here');
    assert.equal(done.arguments, '{}');
    assert.equal(done.call_id, added.call_id);
    const item = (await c.next('response.output_item.done')).item as Record<string, unknown>;
    assert.equal(item.status, 'completed');
    const response = (await c.next('response.done')).response as { status: string; output: { type: string }[] };
    assert.equal(response.status, 'completed');
    assert.deepEqual(response.output.map((output) => output.type), ['function_call']);
    const types = c.events.map((event) => event.type);
    assert.ok(types.indexOf('response.function_call_arguments.delta') < types.indexOf('response.function_call_arguments.done'));
    // The result, then a new response that speaks about it.
    c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: done.call_id, output: '{"members":["Alice","Bob"]}' } });
    const output = (await c.next('conversation.item.added', (event) => (event.item as { type: string }).type === 'function_call_output')).item as Record<string, unknown>;
    assert.equal(output.call_id, done.call_id);
    c.send({ type: 'response.create' });
    await c.next('response.done');
    const said = c.events.filter((event) => event.type === 'response.output_text.delta').map((event) => event.delta).join('');
    assert.match(said, /The who_is_here tool answered: \{"members":\["Alice","Bob"\]\}/);
    // The trigger fired once: another response does not call the tool again.
    c.send({ type: 'response.create' });
    const again = (await c.next('response.done')).response as { output: { type: string }[] };
    assert.deepEqual(again.output.map((output) => output.type), ['message']);
    c.close();
  });

  it('refuses a function_call_output whose call_id is not a call of the conversation (code null, like the service)', async () => {
    const c = await rawClient(sim);
    c.send(GA({ tools: [WHO] }));
    await c.next('session.updated');
    c.send({ type: 'conversation.item.create', event_id: 'out_1', item: { type: 'function_call_output', call_id: 'call_made_up', output: 'x' } });
    const error = (await c.next('error')).error as Record<string, unknown>;
    assert.deepEqual(error, {
      type: 'invalid_request_error',
      code: null,
      message: 'No tool call found for function call output with call_id call_made_up.',
      param: 'item.call_id',
      event_id: 'out_1',
    });
    c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'x' } });
    assert.equal(((await c.next('error')).error as { code: string }).code, 'missing_required_parameter');
    assert.equal(sim.sessions.at(-1)!.items.length, 0, 'nothing was added');
    c.close();
  });

  it('validates function tools (name pattern, unknown keys) and refuses MCP on the beta dialect', async () => {
    const ga = await rawClient(sim);
    ga.send(GA({ tools: [{ ...WHO, name: 'who is here' }] }));
    assert.equal(((await ga.next('error')).error as { param: string }).param, 'session.tools[0].name');
    ga.send(GA({ tools: [{ ...WHO, strict: true }] }));
    assert.equal(((await ga.next('error')).error as { code: string }).code, 'unknown_parameter');
    ga.send(GA({ tools: [{ type: 'mcp', server_label: 'docs' }] }));
    assert.equal(((await ga.next('error')).error as { code: string }).code, 'missing_required_parameter');
    ga.close();
    const beta = await rawClient(sim, { beta: true });
    beta.send({ type: 'session.update', session: { tools: [WHO] } });
    await beta.next('session.updated');
    beta.send({ type: 'session.update', session: { tools: [{ type: 'mcp', server_label: 'docs', server_url: 'https://docs.example/mcp' }] } });
    const refused = (await beta.next('error')).error as Record<string, unknown>;
    assert.equal(refused.code, 'invalid_value');
    assert.equal(refused.param, 'session.tools[0].type');
    beta.close();
  });

  it('lists MCP tools with the configured headers, reports a failed listing, and calls, fails and asks approval as configured', async () => {
    const c = await rawClient(sim);
    c.send(
      GA({
        tools: [
          { type: 'mcp', server_label: 'docs', server_url: 'https://docs.example/mcp', allowed_tools: ['search'], require_approval: { never: { tool_names: ['search'] } }, headers: { Authorization: 'Bearer docs-secret' } },
          { type: 'mcp', server_label: 'broken', server_url: 'https://broken.example/mcp', require_approval: 'never' },
          { type: 'mcp', server_label: 'flaky', server_url: 'https://flaky.example/mcp', require_approval: 'never' },
          { type: 'mcp', server_label: 'asks', server_url: 'https://docs.example/mcp', headers: { Authorization: 'Bearer docs-secret' } },
        ],
      }),
    );
    const updated = (await c.next('session.updated')).session as { tools: Record<string, unknown>[] };
    assert.ok(updated.tools.every((tool) => !('headers' in tool)), 'credentials are not echoed');
    const lists = new Map<string, string>();
    for (let i = 0; i < 4; i++) {
      const added = (await c.next('conversation.item.added', (event) => (event.item as { type: string }).type === 'mcp_list_tools')).item as { id: string; server_label: string };
      lists.set(added.id, added.server_label);
    }
    const outcome = new Map<string, string>();
    while (outcome.size < 4) {
      const event = c.events.find((e) => (e.type === 'mcp_list_tools.completed' || e.type === 'mcp_list_tools.failed') && !outcome.has(lists.get(e.item_id as string)!));
      if (event) outcome.set(lists.get(event.item_id as string)!, event.type);
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(Object.fromEntries(outcome), { docs: 'mcp_list_tools.completed', broken: 'mcp_list_tools.failed', flaky: 'mcp_list_tools.completed', asks: 'mcp_list_tools.completed' });
    const docsList = (await c.next('conversation.item.done', (event) => (event.item as { server_label?: string }).server_label === 'docs')).item as { tools: { name: string }[] };
    assert.deepEqual(docsList.tools.map((tool) => tool.name), ['search'], 'only the allowed tools');
    assert.ok(sim.mcp.requests.some((request) => request.url === 'https://docs.example/mcp' && request.headers.Authorization === 'Bearer docs-secret'));

    // An allowed tool without approval: run by the service, then the model speaks in the same response.
    c.send(text('⟦mcp docs search "realtime"⟧'));
    c.send({ type: 'response.create' });
    await c.next('response.mcp_call.in_progress');
    await c.next('response.mcp_call.completed');
    const call = (await c.next('response.output_item.done', (event) => (event.item as { type: string }).type === 'mcp_call')).item as Record<string, unknown>;
    assert.equal(call.output, 'found "realtime" with search');
    assert.equal(call.error, null);
    const spoken = (await c.next('response.done')).response as { output: { type: string }[] };
    assert.deepEqual(spoken.output.map((output) => output.type), ['mcp_call', 'message']);

    // A failing server: mcp_call.failed with the error on the item.
    c.send(text('⟦mcp flaky fetch {}⟧'));
    c.send({ type: 'response.create' });
    await c.next('response.mcp_call.failed');
    const failed = (await c.next('response.output_item.done', (event) => (event.item as { type: string }).type === 'mcp_call')).item as Record<string, unknown>;
    assert.deepEqual(failed.error, { type: 'http_error', code: 503, message: 'Service Unavailable' });
    await c.next('response.done');

    // Approval by default (no policy): the response ends with the request; the answer lets it run.
    c.send(text('⟦mcp asks search "x"⟧'));
    c.send({ type: 'response.create' });
    const request = (await c.next('response.output_item.done', (event) => (event.item as { type: string }).type === 'mcp_approval_request')).item as { id: string; name: string };
    assert.equal(request.name, 'search');
    const ended = (await c.next('response.done')).response as { output: { type: string }[] };
    assert.deepEqual(ended.output.map((output) => output.type), ['mcp_approval_request']);
    c.send({ type: 'conversation.item.create', item: { type: 'mcp_approval_response', approval_request_id: request.id, approve: true } });
    c.send({ type: 'response.create' });
    const approved = (await c.next('response.output_item.done', (event) => (event.item as { type: string }).type === 'mcp_call')).item as Record<string, unknown>;
    assert.equal(approved.approval_request_id, request.id);
    await c.next('response.done');
    c.send({ type: 'conversation.item.create', event_id: 'twice', item: { type: 'mcp_approval_response', approval_request_id: request.id, approve: false } });
    assert.equal(((await c.next('error')).error as { event_id: string }).event_id, 'twice', 'an approval is answered once');
    c.close();
  });
});
