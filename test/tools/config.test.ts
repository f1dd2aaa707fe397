/**
 * The tools configuration: MCP servers from MCP_SERVERS (checked, with approval defaulting to "never"
 * only for explicitly allowed tools), their credentials among the secrets the logger scrubs, and the
 * tools' permission, timeout and filler settings collected with every other problem.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, configSecrets, loadConfig } from '../../src/config.ts';
import { secretPatterns } from '../../src/log.ts';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  return [];
};

test('defaults: tools permission UseApplicationCommands, 15 s timeout, spoken filler after 700 ms, no MCP servers', () => {
  const { tools } = loadConfig({});
  assert.deepEqual(tools, { timeoutMs: 15_000, filler: 'speech', fillerAfterMs: 700, permission: 'UseApplicationCommands', mcpServers: [] });
});

test('MCP servers: allowed tools run without approval, others ask; explicit policies and headers are kept', () => {
  const { tools } = loadConfig({
    MCP_SERVERS: JSON.stringify([
      { label: 'docs', url: 'https://docs.example/mcp', allowedTools: ['search', 'fetch'], headers: { Authorization: 'Bearer docs-secret-123' } },
      { label: 'open', url: 'https://open.example/mcp' },
      { label: 'trusted', url: 'https://trusted.example/mcp?key=query-secret-456', requireApproval: 'never', description: 'Our wiki' },
    ]),
    TOOLS_PERMISSION: 'manage guild',
    TOOL_TIMEOUT_SECONDS: '30',
    TOOL_FILLER: 'cue',
    TOOL_FILLER_AFTER_MS: '500',
  });
  assert.equal(tools.permission, 'ManageGuild');
  assert.equal(tools.timeoutMs, 30_000);
  assert.equal(tools.filler, 'cue');
  assert.equal(tools.fillerAfterMs, 500);
  assert.deepEqual(tools.mcpServers, [
    { type: 'mcp', serverLabel: 'docs', serverUrl: 'https://docs.example/mcp', allowedTools: ['search', 'fetch'], requireApproval: { never: ['search', 'fetch'] }, headers: { Authorization: 'Bearer docs-secret-123' } },
    { type: 'mcp', serverLabel: 'open', serverUrl: 'https://open.example/mcp', requireApproval: 'always' },
    { type: 'mcp', serverLabel: 'trusted', serverUrl: 'https://trusted.example/mcp?key=query-secret-456', description: 'Our wiki', requireApproval: 'never' },
  ]);
});

test('MCP credentials are secrets the logger scrubs: header values, a bearer token alone, URL query values', () => {
  const config = loadConfig({
    MCP_SERVERS: JSON.stringify([
      { label: 'docs', url: 'https://user:url-password-789@docs.example/mcp?key=query-secret-456', headers: { Authorization: 'Bearer docs-secret-123', 'X-Api-Key': 'header-secret-000' } },
    ]),
  });
  const patterns = secretPatterns(configSecrets(config));
  for (const secret of ['Bearer docs-secret-123', 'docs-secret-123', 'header-secret-000', 'query-secret-456', 'url-password-789']) assert.ok(patterns.includes(secret), secret);
});

test('every MCP_SERVERS problem is listed, without echoing the text (it holds credentials)', () => {
  const invalid = problemsOf({ MCP_SERVERS: '[{"label":"docs","headers":{"Authorization":"Bearer leaked-secret"' });
  assert.equal(invalid.length, 1);
  assert.match(invalid[0]!, /MCP_SERVERS must be a JSON array/);
  assert.ok(!invalid[0]!.includes('leaked-secret'));
  assert.deepEqual(problemsOf({ MCP_SERVERS: '{"label":"docs"}' }), ['MCP_SERVERS must be a JSON array of servers (got a JSON value that is not an array)']);
  const problems = problemsOf({
    MCP_SERVERS: JSON.stringify([
      { label: 'bad label!', url: 'ftp://x', allowedTools: [], requireApproval: 'sometimes', headers: { A: 1 }, extra: true },
      { label: 'docs', url: 'https://a.example' },
      { label: 'docs', url: 'https://b.example' },
      'not an object',
    ]),
    TOOLS_PERMISSION: 'ManageServer',
    TOOL_FILLER: 'music',
    TOOL_TIMEOUT_SECONDS: '0',
  });
  for (const expected of [
    /MCP_SERVERS\[0\] has unknown keys: extra/,
    /MCP_SERVERS\[0\]\.label must be 1-64 letters/,
    /MCP_SERVERS\[0\]\.url must be an http\(s\) URL/,
    /MCP_SERVERS\[0\]\.allowedTools must be a non-empty array/,
    /MCP_SERVERS\[0\]\.requireApproval must be "always" or "never"/,
    /MCP_SERVERS\[0\]\.headers must be an object of header names to string values/,
    /MCP_SERVERS\[2\]\.label "docs" is used twice/,
    /MCP_SERVERS\[3\] must be an object/,
    /TOOLS_PERMISSION must be a Discord permission name .*use ManageGuild/,
    /TOOL_FILLER must be speech, cue or off/,
    /TOOL_TIMEOUT_SECONDS must be a whole number from 1 to 600/,
  ]) {
    assert.ok(problems.some((problem) => expected.test(problem)), `${expected} in ${JSON.stringify(problems)}`);
  }
});
