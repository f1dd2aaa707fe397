/**
 * README's configuration table, `.env.example` and the code list the same variables with the same
 * defaults. The variables are those `loadConfig` and `loadShardingConfig` read plus any other
 * `process.env.NAME` the bot's sources read; a default is checked by behaviour: setting a variable to
 * the documented default must give the same configuration as leaving it out.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config.ts';
import { SHARDING_VARIABLES, loadShardingConfig } from '../../src/shardingConfig.ts';
import { ROOT } from './helpers.ts';

/** Read from the environment by discord.js's sharding manager and ours for it, never set by an operator. */
const INTERNAL = new Set(['SHARDING_MANAGER', 'SHARDS']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every NAME in `process.env.NAME` / `env.NAME` of the bot's own sources (what runs in production). */
function variablesReadBySources(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of [...sourceFiles(join(ROOT, 'src')), join(ROOT, 'main.ts')]) {
    for (const match of readFileSync(file, 'utf8').matchAll(/\b(?:process\.env|env)\.([A-Z][A-Z0-9_]+)\b/g)) {
      if (!found.has(match[1]!)) found.set(match[1]!, relative(ROOT, file));
    }
  }
  return found;
}

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const example = readFileSync(join(ROOT, '.env.example'), 'utf8');

/** The README's configuration table: one entry per variable named in a row, with its default literal (or null). */
function readmeTable(): Map<string, { default: string | null; row: string }> {
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 5));
  const rows = section.split('\n').filter((line) => line.startsWith('| `'));
  assert.ok(rows.length > 10, 'the configuration table');
  const table = new Map<string, { default: string | null; row: string }>();
  for (const row of rows) {
    const [, names = '', defaults = ''] = row.split('|').map((cell) => cell.trim());
    const nameList = [...names.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!);
    const defaultList = [...defaults.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    // "`500`, `-45`" pairs with two names; "`SHARD_COUNT` (or `TOTAL_SHARDS`) | `auto`" gives the first its
    // default; "— (required for `npm start`)" or "from the provider" is no default.
    const literal = defaults.startsWith('`') ? defaultList : [];
    nameList.forEach((name, index) => table.set(name, { default: literal[index] ?? null, row }));
    // Synonyms and fallbacks named in the meaning column count as listed, without a default of their own.
    for (const other of row.matchAll(/`([A-Z][A-Z0-9_]{3,})`/g)) if (!table.has(other[1]!)) table.set(other[1]!, { default: null, row });
  }
  return table;
}

/** `.env.example`: NAME → value for `NAME=value` lines; names only mentioned in comments map to undefined. */
function exampleFile(): Map<string, string | undefined> {
  const values = new Map<string, string | undefined>();
  for (const line of example.split('\n')) {
    const assignment = /^([A-Z][A-Z0-9_]+)=(.*)$/.exec(line);
    if (assignment) values.set(assignment[1]!, assignment[2]!.trim());
  }
  for (const line of example.split('\n').filter((l) => l.startsWith('#'))) {
    for (const mention of line.matchAll(/\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b/g)) if (!values.has(mention[1]!)) values.set(mention[1]!, undefined);
  }
  return values;
}

describe('configuration documentation', () => {
  const fromSources = variablesReadBySources();
  const variables = new Set([...CONFIG_VARIABLES, ...SHARDING_VARIABLES, ...fromSources.keys()].filter((name) => !INTERNAL.has(name)));
  const table = readmeTable();
  const file = exampleFile();

  test('every variable the code reads is in the README table and in .env.example', () => {
    assert.ok(variables.size >= 30, `found the variables (${variables.size})`);
    const missingInReadme = [...variables].filter((name) => !table.has(name));
    const missingInExample = [...variables].filter((name) => !file.has(name));
    assert.deepEqual(missingInReadme, [], 'not in the README configuration table');
    assert.deepEqual(missingInExample, [], 'not in .env.example');
    for (const name of [...variables].filter((n) => !CONFIG_VARIABLES.includes(n) && !SHARDING_VARIABLES.includes(n))) {
      console.log(`# ${name}: read outside the configuration, by ${fromSources.get(name)}`);
    }
  });

  test('nothing documented that the code does not read', () => {
    const extraInTable = [...table.keys()].filter((name) => table.get(name)!.row.split('|')[1]!.includes(`\`${name}\``) && !variables.has(name));
    const extraInExample = [...file.entries()].filter(([name, value]) => value !== undefined && !variables.has(name)).map(([name]) => name);
    assert.deepEqual(extraInTable, [], 'in the README table but read by nothing');
    assert.deepEqual(extraInExample, [], 'set in .env.example but read by nothing');
  });

  test('the README default and the .env.example value agree; no default means an empty line', () => {
    for (const name of variables) {
      const documented = table.get(name)?.default ?? null;
      const shipped = file.get(name);
      if (shipped === undefined) {
        assert.equal(documented, null, `${name} has a README default but no line in .env.example`);
        continue;
      }
      assert.equal(shipped, documented ?? '', `${name}: .env.example says "${shipped}", the README says ${documented === null ? 'no default' : `"${documented}"`}`);
    }
  });

  test('the documented defaults are the code\'s: setting one changes nothing', () => {
    const base = loadConfig({});
    const baseSharding = loadShardingConfig({});
    let checked = 0;
    for (const [name, value] of file) {
      if (value === undefined || !variables.has(name)) continue;
      if (CONFIG_VARIABLES.includes(name)) {
        assert.deepEqual(loadConfig({ [name]: value }), base, `${name}=${value} is not loadConfig's default`);
        checked++;
      } else if (SHARDING_VARIABLES.includes(name)) {
        assert.deepEqual(loadShardingConfig({ [name]: value }), baseSharding, `${name}=${value} is not loadShardingConfig's default`);
        checked++;
      } else {
        assert.equal(value, '', `${name} is read outside the configuration: its default must be "unset" (an empty line)`);
      }
    }
    assert.ok(checked >= 25, `checked ${checked} defaults`);
  });
});
