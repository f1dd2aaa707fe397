/**
 * Discord's per-route rate limits on channel messages, as the local Discord models them: each channel
 * has its own bucket for creating messages and another for editing them (the channel id is the
 * route's "major parameter"), `count` requests per `windowMs`. Every answer carries the
 * `X-RateLimit-*` headers @discordjs/rest reads to wait before the next request; a request over the
 * limit gets 429 `{ message, retry_after, global: false }` with `Retry-After`, as on Discord.
 * Source: https://discord.com/developers/docs/topics/rate-limits (headers, 429 body); the figure of
 * 5 messages per 5 s per channel is the long-observed one (Discord does not publish route limits and
 * says to read the headers).
 */
import type { RestReply } from './rest.ts';

/** A bucket's limit. */
export interface MessageRateLimit {
  count: number;
  windowMs: number;
}

/** Discord's observed limit on creating (or editing) messages in one channel. */
export const DISCORD_MESSAGE_RATE_LIMIT: MessageRateLimit = { count: 5, windowMs: 5_000 };

/** Fixed-window buckets keyed by route and channel. */
export class MessageRateLimits {
  readonly #limit: MessageRateLimit;
  readonly #buckets = new Map<string, { resetAt: number; used: number }>();

  constructor(limit: MessageRateLimit) {
    this.#limit = limit;
  }

  /**
   * Counts a request at `now` (performance.now() ms): the headers to send with a success, or a 429
   * reply when the bucket is empty (the request is then not performed).
   */
  hit(route: string, channelId: string, now: number): { headers: Record<string, string> } | { refused: RestReply } {
    const key = `${route}:${channelId}`;
    let bucket = this.#buckets.get(key);
    if (!bucket || now >= bucket.resetAt) {
      bucket = { resetAt: now + this.#limit.windowMs, used: 0 };
      this.#buckets.set(key, bucket);
      if (this.#buckets.size > 10_000) this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    const resetAfter = Math.max(0, bucket.resetAt - now) / 1000;
    const common = {
      'x-ratelimit-limit': String(this.#limit.count),
      'x-ratelimit-reset-after': resetAfter.toFixed(3),
      'x-ratelimit-reset': ((Date.now() + (bucket.resetAt - now)) / 1000).toFixed(3),
      'x-ratelimit-bucket': Buffer.from(key).toString('hex').slice(0, 32),
    };
    if (bucket.used >= this.#limit.count) {
      return {
        refused: {
          status: 429,
          body: { message: 'You are being rate limited.', retry_after: Number(resetAfter.toFixed(3)), global: false },
          headers: { ...common, 'x-ratelimit-remaining': '0', 'x-ratelimit-scope': 'user', 'retry-after': String(Math.max(1, Math.ceil(resetAfter))) },
        },
      };
    }
    bucket.used++;
    return { headers: { ...common, 'x-ratelimit-remaining': String(this.#limit.count - bucket.used) } };
  }
}
