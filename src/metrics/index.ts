export { BotMetrics, TURN_LATENCY_BUCKETS, type BotMetricsOptions } from './botMetrics.ts';
export { metricsPortFor, startMetricsServer, type HealthReport, type MetricsServer, type MetricsServerOptions } from './server.ts';
