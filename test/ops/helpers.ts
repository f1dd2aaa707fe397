/**
 * Shared pieces of the operations tests: the simulators in the test process and the real bot as a
 * child process (`node bin/run.mjs main.ts` or `src/sharding.ts`), configured by environment
 * exactly as an operator would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDiscordSimulator, type DiscordSimulator, type DiscordSimulatorOptions } from '../../sim/discord/index.ts';
import { startRealtimeSimulator, type RealtimeSimulator, type RealtimeSimulatorOptions } from '../../sim/realtime/index.ts';
import { commands } from '../../commands/index.ts';
import { deployCommands } from '../../src/discord/deployCommands.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

/** The Discord and realtime simulators, commands deployed, and a temporary data directory. */
export interface Simulators {
  discord: DiscordSimulator;
  realtime: RealtimeSimulator;
  dataDir: string;
  databasePath: string;
  /** The environment a bot process needs to run against these simulators. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startSimulators(options: { discord?: DiscordSimulatorOptions; realtime?: RealtimeSimulatorOptions } = {}): Promise<Simulators> {
  const realtime = await startRealtimeSimulator(options.realtime ?? {});
  const discord = await startDiscordSimulator(options.discord ?? {});
  await deployCommands({ token: discord.token, applicationId: discord.applicationId, guildId: discord.guildId, api: discord.rest }, commands);
  const dataDir = mkdtempSync(join(tmpdir(), 'voice-bot-ops-'));
  const databasePath = join(dataDir, 'bot.sqlite');
  const env = {
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_GUILD_ID: discord.guildId,
    DISCORD_API_URL: discord.rest,
    REALTIME_PROVIDER: 'custom',
    REALTIME_URL: realtime.url,
    REALTIME_DIALECT: 'ga',
    REALTIME_API_KEY: realtime.apiKey,
    DATABASE_PATH: databasePath,
    // The child trusts the simulator's voice TLS the way an operator would trust a private CA.
    NODE_EXTRA_CA_CERTS: discord.caPath,
    ALONE_TIMEOUT_SECONDS: '60',
  };
  return {
    discord,
    realtime,
    dataDir,
    databasePath,
    env,
    async close() {
      await discord.close().catch(() => undefined);
      await realtime.close().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A bot (or sharding manager) running as a child process; its stdout+stderr lines are kept. */
export interface BotProcess {
  child: ChildProcess;
  /** Every line of stdout and stderr, in order of arrival. */
  lines: string[];
  /** The JSON log lines (pino), parsed. */
  logs(): Record<string, unknown>[];
  /** Waits for a JSON log line matching the predicate. */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal) and when the process exited (performance.now()). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Kills the process (SIGKILL) if it is still running. */
  kill(): void;
}

/** Starts `node bin/run.mjs <entry>` with the given environment on top of a clean one. */
export function spawnBot(entry: string, env: Record<string, string>): BotProcess {
  return spawnProcess(process.execPath, ['bin/run.mjs', entry], { cwd: ROOT, env });
}

/**
 * Starts any command (`npm start`, say) with the given environment on top of a clean one, collecting
 * its output like {@link spawnBot}.
 */
export function spawnProcess(command: string, args: string[], options: { cwd: string; env: Record<string, string>; uid?: number; gid?: number; stdin?: 'pipe' }): BotProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid }),
    // Only what the bot needs (no inherited LOG_LEVEL, METRICS_PORT, tokens of the developer's shell).
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const collect = (stream: NodeJS.ReadableStream) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const part of parts) if (part.length > 0) lines.push(part);
    });
    stream.on('end', () => {
      if (rest.length > 0) lines.push(rest);
    });
  };
  collect(child.stdout!);
  collect(child.stderr!);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolvePromise) => {
    child.once('exit', (code, signal) => resolvePromise({ code, signal, at: performance.now() }));
  });
  const logs = () =>
    lines.flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return {
    child,
    lines,
    logs,
    async waitForLog(predicate, what, timeoutMs = 20_000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const found = logs().find(predicate);
        if (found) return found;
        if (child.exitCode !== null) throw new Error(`the process exited (${child.exitCode}) before ${what}:\n${lines.slice(-20).join('\n')}`);
        if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${lines.slice(-20).join('\n')}`);
        await sleep(25);
      }
    },
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1 (for METRICS_PORT, where 0 means "off"). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
  return port;
}

/** Parses Prometheus text format into `name{labels}` → value (comments skipped). */
export function parsePrometheus(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (match) values.set(match[1]!, Number(match[2]));
  }
  return values;
}
