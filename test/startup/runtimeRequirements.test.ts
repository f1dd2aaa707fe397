import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
// @ts-expect-error plain JS module without declarations, kept JS so it loads on any Node
import { compareVersions, installedVoiceVersion, nodeSupported, runtimeProblems, MIN_NODE, MIN_VOICE, NODE_RANGE } from '../../bin/runtimeRequirements.mjs';
import { readFileSync } from 'node:fs';

test('versions compare numerically, not as strings', () => {
  assert.equal(compareVersions('22.12.0', '22.9.0'), 1);
  assert.equal(compareVersions('v20.20.2', '22.12.0'), -1);
  assert.equal(compareVersions('0.19.2', '0.19.2'), 0);
  assert.equal(compareVersions('0.18.0', '0.19.2'), -1);
});

test('the running Node and the installed @discordjs/voice satisfy the requirements', () => {
  const voiceVersion = installedVoiceVersion();
  assert.ok(voiceVersion, '@discordjs/voice should be installed');
  assert.ok(compareVersions(voiceVersion, MIN_VOICE) >= 0, `voice ${voiceVersion} >= ${MIN_VOICE}`);
  assert.ok(compareVersions(process.versions.node, MIN_NODE) >= 0, `node ${process.versions.node} >= ${MIN_NODE}`);
  assert.deepEqual(runtimeProblems({ nodeVersion: process.versions.node, voiceVersion }), []);
});

test('the boundary versions: .ts without a flag from 22.18.0 / 23.6.0, module.registerHooks from 22.15.0 / 23.5.0', () => {
  // Measured by running `bin/run.mjs src/index.ts` under each of these Node binaries: 22.17.1 and 23.5.0
  // fail with ERR_UNKNOWN_FILE_EXTENSION, 22.18.0 and 23.6.0 reach the configuration check.
  const expected: [string, boolean][] = [
    ['20.20.2', false],
    ['21.7.3', false],
    ['22.12.0', false],
    ['22.15.0', false],
    ['22.17.1', false],
    ['v22.17.99', false],
    ['22.18.0', true],
    ['v22.18.0', true],
    ['22.23.3', true],
    ['23.5.0', false],
    ['23.6.0', true],
    ['24.0.0', true],
    ['26.1.0', true],
  ];
  for (const [version, supported] of expected) {
    assert.equal(nodeSupported(version), supported, version);
    assert.equal(runtimeProblems({ nodeVersion: version, voiceVersion: MIN_VOICE }).length, supported ? 0 : 1, version);
  }
  assert.equal(MIN_NODE, '22.18.0');
});

test('an old Node is refused with a sentence naming the required version', () => {
  const problems: string[] = runtimeProblems({ nodeVersion: '22.17.1', voiceVersion: '0.19.2' });
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /Node 22\.17\.1 is too old: this bot needs Node >= 22\.18\.0/);
  assert.match(runtimeProblems({ nodeVersion: '23.5.0', voiceVersion: '0.19.2' })[0]!, /on the 23 line: >= 23\.6\.0/);
});

test('package.json engines and the README state the same minimum', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
  assert.equal(pkg.engines.node, NODE_RANGE);
  assert.equal(NODE_RANGE, `^${MIN_NODE} || >=23.6.0`);
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const stated = [...readme.matchAll(/Node(?:\.js)? ?(?:≥|>=) ?(\d+\.\d+(?:\.\d+)?)/g)].map((m) => m[1]!);
  assert.ok(stated.length > 0, 'the README states the minimum');
  for (const version of stated) assert.equal(compareVersions(version, MIN_NODE), 0, `README says Node >= ${version}`);
});

test('an old @discordjs/voice is refused because it has no DAVE', () => {
  const problems: string[] = runtimeProblems({ nodeVersion: MIN_NODE, voiceVersion: '0.18.0' });
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /@discordjs\/voice 0\.18\.0 is too old.*DAVE/);
  assert.match(runtimeProblems({ nodeVersion: MIN_NODE, voiceVersion: null })[0]!, /not installed/);
});

test('the launcher exits non-zero with a clear message under the system Node 20', (t) => {
  const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => existsSync(path));
  if (!systemNode) return t.diagnostic('no system node found; launcher refusal covered by runtimeProblems tests');
  const version = spawnSync(systemNode, ['--version'], { encoding: 'utf8' }).stdout.trim();
  if (compareVersions(version, MIN_NODE) >= 0) return t.diagnostic(`system node ${version} is new enough`);
  const result = spawnSync(systemNode, ['bin/run.mjs', 'main.ts'], { encoding: 'utf8' });
  assert.equal(result.status, 78);
  assert.match(result.stderr, /too old: this bot needs Node >= 22\.18\.0/);
  assert.doesNotMatch(result.stderr, /at .*\(.*:\d+:\d+\)/, 'no stack trace');
});

test('the native modules load under the Node that the npm scripts run', async () => {
  const { OpusEncoder } = (await import('@discordjs/opus')).default;
  const encoder = new OpusEncoder(48_000, 2);
  const packet = encoder.encode(Buffer.alloc(3840));
  assert.equal(encoder.decode(packet).length, 3840);
  const sodium = (await import('sodium-native')).default;
  assert.equal(typeof sodium.crypto_aead_xchacha20poly1305_ietf_encrypt, 'function');
});
