import { randomBytes } from 'node:crypto';

/** Discord's epoch (2015-01-01T00:00:00Z): snowflakes count milliseconds from it in their top 42 bits. */
const DISCORD_EPOCH = 1_420_070_400_000n;

let increment = 0n;

/**
 * A new snowflake: timestamp since the Discord epoch in bits 22..63, a 12-bit increment below.
 * discord.js derives `createdAt` from these bits, so they are real snowflakes, not random strings.
 */
export function snowflake(at: number = Date.now()): string {
  increment = (increment + 1n) & 0xfffn;
  return (((BigInt(at) - DISCORD_EPOCH) << 22n) | increment).toString();
}

/** A random URL-safe token (interaction tokens, voice tokens, session ids). */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** A random hex session id, like the 32-hex-digit ids Discord gives gateway sessions. */
export function sessionId(): string {
  return randomBytes(16).toString('hex');
}

/** The shard that owns a guild: `(guild_id >> 22) % shard_count`, as Discord routes guilds to shards. */
export function shardOf(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}
