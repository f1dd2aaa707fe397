import type { Client } from 'discord.js';

/**
 * The gateway heartbeat round trip in ms, averaged over the shards of this process that have had a
 * heartbeat acknowledged; null before the first one. discord.js's own `client.ws.ping` averages every
 * shard, counting a shard that has not been acknowledged yet as -1 (and is NaN before login), so a
 * second shard still connecting would pull the figure down.
 */
export function gatewayPingMs(client: Pick<Client, 'ws'>): number | null {
  const pings = [...client.ws.shards.values()].map((shard) => shard.ping).filter((ping) => Number.isFinite(ping) && ping >= 0);
  if (pings.length === 0) return null;
  return pings.reduce((sum, ping) => sum + ping, 0) / pings.length;
}
