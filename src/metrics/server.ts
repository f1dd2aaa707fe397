import { createServer, type Server } from 'node:http';
import { gatewayPingMs } from './gatewayPing.ts';
import type { AddressInfo } from 'node:net';
import type { Client } from 'discord.js';
import type { Logger } from 'pino';
import type { SessionRegistry } from '../voice/sessionRegistry.ts';
import type { BotMetrics } from './botMetrics.ts';

/** What `/healthz` answers (JSON). */
export interface HealthReport {
  status: 'ok' | 'starting' | 'stopping';
  discordReady: boolean;
  guilds: number;
  voiceSessions: number;
  /** Shard ids this process runs (empty when not sharded). */
  shards: number[];
  /** Discord gateway heartbeat round trip in ms, null before the first heartbeat. */
  gatewayPingMs: number | null;
  uptimeSeconds: number;
}

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  port: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  client: Client;
  sessions: SessionRegistry;
  metrics: BotMetrics;
  logger: Logger;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** Base URL, e.g. http://127.0.0.1:9464 (with the port actually bound). */
  url: string;
  port: number;
  /** Makes /healthz answer 503 "stopping" from now on (called first in a graceful shutdown). */
  markStopping(): void;
  close(): Promise<void>;
}

/**
 * The health and metrics HTTP endpoint: `GET /healthz` (200 JSON when the Discord client is ready,
 * 503 otherwise) and `GET /metrics` (Prometheus text format). Nothing else; no request body is read.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { client, sessions, metrics, logger } = options;
  const host = options.host ?? '127.0.0.1';
  const startedAt = Date.now();
  let stopping = false;

  const health = (): HealthReport => {
    const ready = client.isReady();
    return {
      status: stopping ? 'stopping' : ready ? 'ok' : 'starting',
      discordReady: ready,
      guilds: client.guilds.cache.size,
      voiceSessions: sessions.voiceSessionCount,
      shards: client.shard?.ids ?? [],
      gatewayPingMs: roundOrNull(gatewayPingMs(client)),
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    };
  };

  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      const report = health();
      response.writeHead(report.status === 'ok' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(`${JSON.stringify(report)}\n`);
      return;
    }
    if (path === '/metrics') {
      metrics.render().then(
        (text) => response.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(text),
        (error: unknown) => {
          logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'metrics collection failed');
          response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
        },
      );
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
  });
  // Scrapers keep connections alive; they must not hold the process open at shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url }, 'metrics endpoint listening');

  let closed: Promise<void> | null = null;
  return {
    url,
    port,
    markStopping() {
      stopping = true;
    },
    close() {
      stopping = true;
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/**
 * The port of this process's endpoint: under the sharding manager each shard process adds its shard
 * id to METRICS_PORT (shard 0 → METRICS_PORT, shard 3 → METRICS_PORT + 3), so shards on one machine
 * do not collide. `shardsEnv` is discord.js's SHARDS variable of the shard process.
 */
export function metricsPortFor(basePort: number, shardsEnv: string | undefined): number {
  if (basePort === 0 || shardsEnv === undefined || shardsEnv.trim() === '') return basePort;
  let first: unknown;
  try {
    const parsed: unknown = JSON.parse(shardsEnv);
    first = Array.isArray(parsed) ? parsed[0] : parsed;
  } catch {
    return basePort;
  }
  return typeof first === 'number' && Number.isInteger(first) && first >= 0 ? basePort + first : basePort;
}

function roundOrNull(value: number | null): number | null {
  return value === null ? null : Math.round(value);
}
