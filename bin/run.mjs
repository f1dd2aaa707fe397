#!/usr/bin/env node
// Entry point of every npm script: refuses to start on an unsupported runtime, then runs a TypeScript
// file with Node's built-in type stripping (`node bin/run.mjs FILE.ts args…`) or the test runner
// (`node bin/run.mjs --test [patterns…]`).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { installedVoiceVersion, runtimeProblems } from './runtimeRequirements.mjs';
import './sodiumCompat.mjs';

const problems = runtimeProblems({ nodeVersion: process.versions.node, voiceVersion: installedVoiceVersion() });
if (problems.length > 0) {
  for (const problem of problems) console.error(`error: ${problem}`);
  process.exit(78); // EX_CONFIG
}

const [target, ...rest] = process.argv.slice(2);
if (target === undefined) {
  console.error('usage: node bin/run.mjs FILE.ts [args…] | --test [patterns…]');
  process.exit(64);
}
if (target === '--test') {
  const patterns = rest.length > 0 ? rest : ['test/**/*.test.ts'];
  const compat = new URL('./sodiumCompat.mjs', import.meta.url).href;
  const result = spawnSync(process.execPath, ['--import', compat, '--test', '--test-timeout=120000', ...patterns], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
// The target sees itself as argv[1] and its own arguments from argv[2] on, as if run directly.
process.argv = [process.argv[0], resolve(target), ...rest];
await import(pathToFileURL(resolve(target)).href);
