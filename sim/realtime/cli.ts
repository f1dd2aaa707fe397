/**
 * Standalone simulator: `npm run sim:realtime -- [--port P] [--key K] [--reply-ms MS] [--reject-beta]
 * [--expire-after-ms MS] [--beta-naming beta|ga|mixed]`. Prints one JSON line `{"url", "apiKey"}` on
 * stdout, then serves until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startRealtimeSimulator } from './index.ts';
import type { BetaNaming } from './wire.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    key: { type: 'string' },
    'reply-ms': { type: 'string' },
    'reject-beta': { type: 'boolean', default: false },
    'expire-after-ms': { type: 'string' },
    'beta-naming': { type: 'string' },
  },
});

const number = (value: string | undefined, name: string): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`error: --${name} must be a non-negative number`);
    process.exit(64);
  }
  return n;
};

const sim = await startRealtimeSimulator({
  port: number(values.port, 'port'),
  host: values.host,
  apiKey: values.key,
  replyAudioMs: number(values['reply-ms'], 'reply-ms'),
  rejectBeta: values['reject-beta'],
  expireSessionsAfterMs: number(values['expire-after-ms'], 'expire-after-ms'),
  betaNaming: values['beta-naming'] as BetaNaming | undefined,
  logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2)),
});
process.stdout.write(`${JSON.stringify({ url: sim.url, apiKey: sim.apiKey })}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void sim.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
