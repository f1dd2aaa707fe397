import type { EventEmitter } from 'node:events';

/**
 * Resolves with `check()`'s value once it is defined, re-checking whenever `emitter` emits `event`;
 * rejects after `timeoutMs` with `describe()` in the message so a failing test says what was missing.
 */
export function waitUntil<T>(emitter: EventEmitter, event: string, check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
  const now = check();
  if (now !== undefined) return Promise.resolve(now);
  return new Promise<T>((resolve, reject) => {
    const onEvent = () => {
      const value = check();
      if (value === undefined) return;
      cleanup();
      resolve(value);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
    };
    emitter.on(event, onEvent);
  });
}

/** Sleeps until `performance.now()` reaches `targetMs` (no-op if already past). */
export function sleepUntil(targetMs: number): Promise<void> {
  const delay = targetMs - performance.now();
  return delay <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, delay));
}
