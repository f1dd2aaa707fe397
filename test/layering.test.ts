/**
 * The layering rules of ARCHITECTURE.md, checked on the import statements of every source file:
 * dependencies point one way (`commands/` → `src/voice` → `src/realtime`, `src/audio`), and the
 * lower layers stay free of Discord and of the simulators.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

/** Every module a file imports (type-only imports included: they are dependencies too), resolved to a path relative to the root for local files. */
function importsOf(file: string): string[] {
  const source = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]/gm),
    ...source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((match) => match[1]!);
  return specifiers.map((specifier) => (specifier.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), specifier)) : specifier));
}

function violations(files: string[], forbidden: (target: string) => boolean): string[] {
  return files.flatMap((file) => importsOf(file).filter(forbidden).map((target) => `${file} imports ${target}`));
}

describe('layering', () => {
  const src = sourceFiles('src');

  test('the import scan sees the imports it should (guards the checks below against a broken regex)', () => {
    assert.ok(importsOf('src/bot.ts').includes('discord.js'));
    assert.ok(importsOf('src/bot.ts').includes('src/voice/sessionRegistry.ts'));
    assert.ok(importsOf('commands/join.ts').some((target) => target.startsWith('src/')));
  });

  test('nothing in src/ imports commands/, tools/, the entry point or scripts/ (the command and tool lists are handed to createBot)', () => {
    assert.deepEqual(violations(src, (target) => /^(commands|tools|scripts|bench|test)\//.test(target) || target === 'main.ts'), []);
  });

  test('nothing in src/ imports the simulators', () => {
    assert.deepEqual(violations(src, (target) => target.startsWith('sim/')), []);
  });

  test('src/audio imports neither discord.js, @discordjs/voice, ws nor the other layers', () => {
    const audio = src.filter((file) => file.startsWith('src/audio/'));
    assert.deepEqual(
      // @discordjs/opus is only the native Opus codec, not Discord.
      violations(audio, (target) => /^(discord\.js|@discordjs\/voice|ws)$/.test(target) || /^src\/(voice|realtime|discord|store|metrics)\//.test(target)),
      [],
    );
  });

  test('src/realtime imports nothing from Discord or the voice layer', () => {
    const realtime = src.filter((file) => file.startsWith('src/realtime/'));
    assert.deepEqual(violations(realtime, (target) => /^(discord\.js|@discordjs\/)/.test(target) || /^src\/(voice|discord|store|metrics)\//.test(target)), []);
  });

  test('src/voice does not import the Discord glue or the metrics above it', () => {
    const voice = src.filter((file) => file.startsWith('src/voice/'));
    assert.deepEqual(violations(voice, (target) => /^src\/(discord|metrics)\//.test(target) || target === 'src/bot.ts'), []);
  });
});
