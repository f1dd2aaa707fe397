/**
 * End to end: remote MCP servers configured by the operator (MCP_SERVERS), run by the (simulated)
 * model service. The session offers them with their credentials; tool listing and call failures are
 * logged and shown in /status; approvals go to members holding the tools permission; an admin can
 * switch a server off; the credentials never reach the logs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Permission } from '../../sim/discord/permissions.ts';
import type { LocalStack } from '../../scripts/localStack.ts';
import { command, eventually, startStack } from './helpers.ts';

const SECRET = 'mcp-docs-secret-7f3a9c';
const SERVERS = [
  { label: 'docs', url: 'https://docs.example/mcp', allowedTools: ['search'], headers: { Authorization: `Bearer ${SECRET}` } },
  { label: 'broken', url: 'https://broken.example/mcp', allowedTools: ['x'] },
  { label: 'flaky', url: 'https://flaky.example/mcp', allowedTools: ['fetch'] },
  { label: 'asks', url: 'https://docs.example/mcp', headers: { Authorization: `Bearer ${SECRET}` } },
];

describe('remote MCP servers', () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startStack({
      env: { MCP_SERVERS: JSON.stringify(SERVERS), MENTION_RATE_LIMIT: '100' },
      logLevel: 'debug',
      realtime: {
        mcpServers: {
          'https://docs.example/mcp': { tools: [{ name: 'search' }, { name: 'delete_everything' }], requireHeaders: { Authorization: `Bearer ${SECRET}` }, call: (tool, args) => ({ output: `found ${args} with ${tool}` }) },
          'https://broken.example/mcp': { tools: [{ name: 'x' }], failList: true },
          'https://flaky.example/mcp': { tools: [{ name: 'fetch' }], call: () => ({ error: { type: 'http_error', code: 503, message: 'Service Unavailable' } }) },
        },
      },
    });
  });
  after(async () => {
    await stack?.close();
  });

  /** Asks and waits until the answer (streamed into edits) matches `expected` in full. */
  const ask = async (name: string, text: string, expected: RegExp) => {
    const message = await stack.discord.member(name).say(text, { mentionBot: true });
    const reply = await message.waitForReply((candidate) => expected.test(candidate.content), 20_000);
    return reply.content;
  };
  const logged = () => stack.logs.map((line) => JSON.parse(line) as Record<string, unknown>);

  test('the session offers the servers with their credentials; a failed listing is logged and shown in /status', async () => {
    await ask('Alice', '⟦mcp docs search "cats"⟧', /^Reply \d+\. The docs search tool answered: found "cats" with search$/);
    const session = stack.realtime!.sessions.at(-1)!;
    const docs = session.config.tools.find((tool) => tool.type === 'mcp' && tool.serverLabel === 'docs');
    assert.ok(docs && docs.type === 'mcp');
    assert.deepEqual(docs.allowedTools, ['search']);
    assert.deepEqual(docs.requireApproval, { always: [], never: ['search'] }, 'no approval for the explicitly allowed tool');
    const asks = session.config.tools.find((tool) => tool.type === 'mcp' && tool.serverLabel === 'asks');
    assert.equal(asks?.type === 'mcp' && asks.requireApproval, 'always', 'a server without allowed tools asks every time');
    assert.ok(stack.realtime!.mcp.requests.some((request) => request.url === 'https://docs.example/mcp' && request.kind === 'call' && request.headers.Authorization === `Bearer ${SECRET}`), 'the service called the server with the credentials');
    await eventually(() => logged().some((line) => line.msg === 'mcp server: listing its tools failed' && line.server === 'broken' && line.level === 40), 'the failed listing to be logged at warn');
    const { content } = await command(stack.discord.member('Alice'), 'status');
    assert.match(content, /\*\*MCP servers:\*\* docs: ready \(1 tool\) · broken: \*\*listing its tools failed\*\* · flaky: ready \(1 tool\) · asks: ready \(2 tools\)/);
  });

  test('a failing MCP call is told to the model, logged, and shown in /status', async () => {
    await ask('Bob', '⟦mcp flaky fetch {"url": "x"}⟧', /The flaky fetch tool failed: Service Unavailable$/);
    await eventually(() => logged().some((line) => line.msg === 'mcp call failed' && line.server === 'flaky' && line.error === 'http_error 503: Service Unavailable'), 'the failed call to be logged');
    const { content } = await command(stack.discord.member('Bob'), 'status');
    assert.match(content, /flaky\/fetch failed \(http_error 503: Service Unavailable\)/);
  });

  test('an approval is granted to a member holding the tools permission and refused to one without it', async () => {
    await ask('Alice', '⟦mcp asks search "dogs"⟧', /The asks search tool answered: found "dogs" with search$/);
    stack.discord.addMember({ name: 'Visitor', permissions: Permission.ViewChannel | Permission.SendMessages | Permission.ReadMessageHistory });
    await ask('Visitor', '⟦mcp asks search "secrets"⟧', /The search call was not approved\.$/);
    assert.ok(!stack.realtime!.mcp.requests.some((request) => request.kind === 'call' && request.url === 'https://docs.example/mcp' && request.tool === 'search' && stack.realtime!.sessions.at(-1)!.items.some((item) => item.tool?.arguments === '"secrets"' && item.type === 'mcp_call')), 'the refused call never ran');
    const { content } = await command(stack.discord.member('Alice'), 'status');
    assert.match(content, /asks\/search approved.*asks\/search denied/);
  });

  test('an admin switches a server off for the server: it leaves the live session', async () => {
    const { content } = await command(stack.discord.member('Owner'), 'tools', { name: 'mcp:flaky' }, 'disable');
    assert.match(content, /`mcp:flaky` is now off/);
    const session = stack.realtime!.sessions.at(-1)!;
    await eventually(() => !session.config.tools.some((tool) => tool.type === 'mcp' && tool.serverLabel === 'flaky'), 'the session to lose the server');
    assert.ok(session.config.tools.some((tool) => tool.type === 'mcp' && tool.serverLabel === 'docs'));
  });

  test('the credentials never reach the logs, at any level', () => {
    assert.ok(stack.logs.some((line) => line.includes('"level":20')), 'the bot logged at debug');
    for (const line of stack.logs) assert.ok(!line.includes(SECRET), `a log line holds the MCP credential: ${line.slice(0, 200)}`);
  });
});
