import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { BOT_NODE_FLAGS } from '../src/nodeFlags.ts';

/** Threads of a Node process started with these flags, once it has started (read from /proc: Linux). */
function threadsWith(flags: readonly string[]): number {
  const out = execFileSync(process.execPath, [...flags, '-e', "console.log(require('node:fs').readdirSync('/proc/self/task').length)"], { encoding: 'utf8' });
  return Number(out.trim());
}

test("the bot's flags leave V8 one helper thread (Node's default is four): they cannot take both cores of a 2-core machine from the main thread", () => {
  const withBotFlags = threadsWith(BOT_NODE_FLAGS);
  const withoutPoolFlag = threadsWith(BOT_NODE_FLAGS.filter((flag) => !flag.startsWith('--v8-pool-size')));
  // Everything else in both processes is the same: the difference is V8's platform workers (4 → 1).
  assert.equal(withoutPoolFlag - withBotFlags, 3, `threads: ${withBotFlags} with the bot's flags, ${withoutPoolFlag} without the pool size`);
});
