/**
 * No process-wide singletons (issue 13.2): the shared frame clock and Opus encoder thread are made in
 * the composition root (src/bot.ts) and passed down as required options; loggers are made only by
 * src/log.ts (the process entry creates the one the bot uses). Checked on the sources, so a
 * constructor that quietly makes its own (`options.clock ?? new FrameClock()`) fails here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');

/** Files of src/ whose code (comments stripped) matches `pattern`. */
function filesMatching(pattern: RegExp): string[] {
  return readdirSync(join(ROOT, 'src'), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .filter((file) => pattern.test(readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')))
    .sort();
}

test('the frame clock and the Opus encoder thread are made only in the composition root', () => {
  assert.deepEqual(filesMatching(/\bnew FrameClock\(/), ['src/bot.ts']);
  assert.deepEqual(filesMatching(/\bnew OpusEncoderThread\(/), ['src/bot.ts']);
});

test('no option makes the clock or the encoder thread optional (nothing can fall back to its own)', () => {
  assert.deepEqual(filesMatching(/\b(clock|encoderThread|encoder)\?\s*:\s*(FrameClock|OpusEncoderThread)\b/), []);
});

test('loggers are made only by src/log.ts', () => {
  assert.deepEqual(filesMatching(/\bpino\(/), ['src/log.ts']);
});

test('nothing in src/ falls back to a logger of its own: every logger is passed in (silentLogger is for tests and tools)', () => {
  assert.deepEqual(filesMatching(/\bsilentLogger\b/), ['src/log.ts']);
  assert.deepEqual(filesMatching(/\blogger\s*\?\?/), []);
});
