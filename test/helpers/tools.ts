/** Tools for tests and benchmarks that need a tool with a known duration. */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineTool, done, type ToolDefinition } from '../../src/tools/types.ts';

/**
 * A tool that takes `ms` milliseconds (0–10 s) and then answers; each finished call is pushed to
 * `finished` as `slow MS`, so a test can wait for a call that outlives its turn.
 */
export function slowLookupTool(finished: string[] = []): ToolDefinition {
  return defineTool({
    name: 'slow_lookup',
    description: 'Test tool that takes a while',
    parameters: z.object({ ms: z.number().int().min(0).max(10_000) }).strict(),
    changes: false,
    async execute({ ms }) {
      await sleep(ms);
      finished.push(`slow ${ms}`);
      return done({ waited: ms });
    },
  });
}
