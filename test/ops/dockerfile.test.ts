/**
 * The Dockerfile cannot be built here (no container engine), so this checks its invariants: Node 22
 * base, native build tools in a build stage, production dependencies only, non-root user, the
 * data volume, the same entry point as `npm start`, and that everything the bot loads at run time
 * is copied into the image and is a production dependency.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from './helpers.ts';
import { BOT_NODE_FLAGS } from '../../src/nodeFlags.ts';
// @ts-expect-error plain JS module without declarations, kept JS so it loads on any Node
import { MIN_NODE, nodeSupported } from '../../bin/runtimeRequirements.mjs';

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions of a Dockerfile (continuation lines joined, comments dropped), grouped by stage. */
function parseDockerfile(text: string): { from: string; name: string | null; instructions: Instruction[] }[] {
  const logical: string[] = [];
  let current = '';
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim() !== '') logical.push(current.trim());
    current = '';
  }
  const stages: { from: string; name: string | null; instructions: Instruction[] }[] = [];
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: match?.[1] ?? args, name: match?.[2] ?? null, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const runtime = stages.at(-1)!;
const build = stages.find((stage) => stage.name !== null && stage !== runtime);
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const of = (stage: { instructions: Instruction[] }, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);

/** Directories and files the runtime stage copies from the build context. */
const copiedFromContext = of(runtime, 'COPY')
  .filter((copy) => !/(^|\s)--from=/.test(copy.args))
  .flatMap((copy) => copy.args.split(/\s+/).filter((word) => !word.startsWith('--')).slice(0, -1));

describe('Dockerfile', () => {
  test('every stage is based on the Node the project pins (bookworm-slim), which meets the minimum', () => {
    assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const stage of stages) {
      const match = /^node:(\d+\.\d+\.\d+)-bookworm-slim$/.exec(stage.from);
      assert.ok(match, `FROM ${stage.from} is an official node image with a full version`);
      assert.equal(match[1], pkg.dependencies.node, `FROM ${stage.from}: the Node of package.json's "node" dependency`);
      assert.ok(nodeSupported(match[1]), `FROM ${stage.from}: at least Node ${MIN_NODE}`);
    }
  });

  test('the build stage has python3, make and g++ for @discordjs/opus and installs production dependencies only', () => {
    assert.ok(build, 'a named build stage');
    const runs = of(build, 'RUN').map((run) => run.args).join('\n');
    for (const tool of ['python3', 'make', 'g++']) assert.match(runs, new RegExp(`apt-get install[^\\n]*\\s${tool.replace('+', '\\+')}(\\s|$)`), `installs ${tool}`);
    assert.match(runs, /npm ci --omit=dev/);
    assert.ok(of(build, 'COPY').some((copy) => /package-lock\.json/.test(copy.args)), 'npm ci needs the lockfile');
    assert.ok(of(runtime, 'COPY').some((copy) => copy.args.includes(`--from=${build.name}`) && /node_modules/.test(copy.args)), 'the runtime stage takes node_modules from the build');
    assert.equal(of(runtime, 'RUN').some((run) => /apt-get install|npm (ci|install)/.test(run.args)), false, 'no compilers or installs in the runtime stage');
  });

  test('production dependencies without a second Node: install scripts off, the native ones rebuilt by name', () => {
    assert.ok(build);
    const runs = of(build, 'RUN').map((run) => run.args).join('\n');
    const install = /npm ci ([^&\n]*)/.exec(runs);
    assert.ok(install, 'npm ci in the build stage');
    assert.match(install[1]!, /--omit=dev/);
    // The "node" package's install script downloads a whole Node; the image has its own.
    assert.match(install[1]!, /--ignore-scripts/, 'npm ci runs no install script (the "node" package would download a Node)');
    // Every production package that needs its install script (package-lock.json says which) is rebuilt
    // explicitly, except the "node" package, which is removed instead.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }> };
    const scripted = Object.entries(lock.packages)
      .filter(([path, entry]) => path.startsWith('node_modules/') && entry.hasInstallScript && !entry.dev)
      .map(([path]) => path.slice('node_modules/'.length));
    assert.ok(scripted.includes('@discordjs/opus') && scripted.includes('node'), `found the packages with install scripts: ${scripted.join(', ')}`);
    const rebuilt = [...runs.matchAll(/npm rebuild ([^&\n]+)/g)].flatMap((match) => match[1]!.trim().split(/\s+/));
    for (const name of scripted.filter((name) => name !== 'node')) assert.ok(rebuilt.includes(name), `npm rebuild ${name} (its install script builds or fetches its native code)`);
    assert.match(runs, /rm -rf[^\n]*node_modules\/node(\s|$)[^\n]*node_modules\/\.bin\/node/, 'the unused "node" package stub and its bin link go');
    assert.doesNotMatch(runs, /node-linux-/, 'nothing to delete: no second Node was downloaded');
  });

  test('every file in the image belongs to the runtime user (COPY --chown), whatever the build machine had', () => {
    const user = of(runtime, 'USER').at(-1)!.args.split(':')[0];
    const copies = of(runtime, 'COPY');
    assert.ok(copies.length > 0);
    for (const copy of copies) assert.match(copy.args, new RegExp(`(^|\\s)--chown=${user}:${user}(\\s|$)`), `COPY ${copy.args}`);
  });

  test('runs as a non-root user, with the data volume it may write to', () => {
    const users = of(runtime, 'USER');
    assert.ok(users.length > 0, 'USER is set');
    const user = users.at(-1)!.args.split(':')[0];
    assert.notEqual(user, 'root');
    assert.notEqual(user, '0');
    const volumes = of(runtime, 'VOLUME').map((volume) => volume.args).join(' ');
    assert.match(volumes, /\/app\/data/);
    const env = of(runtime, 'ENV').map((e) => e.args).join(' ');
    assert.match(env, /DATABASE_PATH=\/app\/data\//, 'the database is in the volume');
    const order = runtime.instructions.map((i) => `${i.keyword} ${i.args}`);
    const chown = order.findIndex((line) => line.startsWith('RUN') && line.includes(`chown ${user}`) && line.includes('/app/data'));
    assert.ok(chown >= 0 && chown < order.findIndex((line) => line.startsWith('USER')), 'the volume directory belongs to that user');
  });

  test('starts like npm start: node with the bot\'s V8 flags, bin/run.mjs main.ts (exec form: node gets the signals), stopped with SIGTERM', () => {
    const cmd = of(runtime, 'CMD').at(-1);
    assert.ok(cmd);
    assert.equal(of(runtime, 'ENTRYPOINT').length, 0, 'no entry point wrapping the command in a shell');
    assert.deepEqual(JSON.parse(cmd.args), ['node', ...BOT_NODE_FLAGS, 'bin/run.mjs', 'main.ts']);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // npm start: the same command, exec'd by npm's shell (so SIGTERM reaches node), reading .env when present
    // (the image has no .env: docker passes the environment).
    assert.equal(pkg.scripts.start, ['exec', 'node', ...BOT_NODE_FLAGS, '--env-file-if-exists=.env', 'bin/run.mjs', 'main.ts'].join(' '));
    // The demo and the benchmarks measure the bot as it is started.
    for (const script of ['demo', 'bench']) assert.ok(pkg.scripts[script]!.startsWith(['node', ...BOT_NODE_FLAGS, 'bin/run.mjs'].join(' ')), script);
    const stop = of(runtime, 'STOPSIGNAL').at(-1)?.args ?? 'SIGTERM';
    assert.equal(stop, 'SIGTERM');
  });

  test('what the image copies exists and is not excluded by .dockerignore; secrets and data are', () => {
    for (const source of copiedFromContext) {
      assert.ok(existsSync(join(ROOT, source)), `${source} exists`);
      assert.ok(!dockerignore.includes(source), `${source} is not in .dockerignore`);
    }
    for (const excluded of ['.env', 'node_modules', 'data', '.git', '*.sqlite']) assert.ok(dockerignore.includes(excluded), `.dockerignore has ${excluded}`);
  });

  test('everything the entry points load is copied into the image and is a production dependency', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; optionalDependencies?: Record<string, string> };
    const production = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})]);
    const builtins = new Set(builtinModules);
    const copied = copiedFromContext.map((source) => resolve(ROOT, source));
    const isCopied = (file: string) => copied.some((source) => file === source || file.startsWith(`${source}/`));

    const seen = new Set<string>();
    const packages = new Set<string>();
    const queue = ['bin/run.mjs', 'main.ts', 'src/sharding.ts', 'scripts/deploy.ts'].map((file) => resolve(ROOT, file));
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      assert.ok(isCopied(file), `${relative(ROOT, file)} is loaded at run time but not copied into the image`);
      const source = readFileSync(file, 'utf8');
      // Static and dynamic imports and re-exports; `import type` / `export type` vanish at run time.
      const specifiers = [
        ...source.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm),
        ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
        ...source.matchAll(/new URL\(\s*['"](\.[^'"]+)['"]\s*,\s*import\.meta\.url\)/g),
      ].map((match) => match[1]!);
      for (const specifier of specifiers) {
        if (specifier.startsWith('.')) {
          const target = resolve(dirname(file), specifier);
          if (existsSync(target) && statSync(target).isFile()) queue.push(target);
          else assert.fail(`${relative(ROOT, file)} imports ${specifier}, which does not exist`);
        } else if (specifier.startsWith('node:') || builtins.has(specifier)) {
          continue;
        } else {
          const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
          packages.add(name);
        }
      }
    }
    assert.ok(seen.size > 30, `followed the import graph (${seen.size} files)`);
    console.log(`# ${seen.size} files; packages: ${[...packages].sort().join(", ")}`);
    for (const name of packages) assert.ok(production.has(name), `${name} is imported at run time but is not a production dependency (npm ci --omit=dev leaves it out)`);
    for (const needed of ['discord.js', '@discordjs/voice', 'pino', 'prom-client']) assert.ok(packages.has(needed), `found the import of ${needed}`);
  });
});
