/**
 * The realtime simulator's fault switches, shared by its sessions (the simulator owns them; tests set
 * them through injectFault), and the rate limit they arm: like the service's, it is per organization,
 * so once hit every response.create is refused again until the hinted time has passed.
 */
import type { SimError } from './wire.ts';

/** Shared fault switches (owned by the simulator). */
export interface FaultState {
  /** Server events left before the socket is dropped (counted across sessions). */
  dropAfter: number | null;
  /** Delay added to every server event. */
  delayMs: number;
  /** Next client event of a type answered with an error instead of being processed. */
  failNext: Map<string, { error: SimError; withoutEventId: boolean }>;
  /** Error codes sent with `event_id: null` even when a client event with an id caused them. */
  errorsWithoutEventId: Set<string>;
  /** Armed rate limit: the next `left` response.create events are refused in this form. */
  rateLimit: { form: 'error' | 'response'; retryAfterMs: number; code: string; withoutEventId: boolean; left: number } | null;
  /** Rate limits are per organization, not per session: until then every response.create is refused again. */
  rateLimitedUntil: number;
  /** How the last refusal was made (repeated while `rateLimitedUntil` lasts). */
  lastRateLimit: { form: 'error' | 'response'; code: string; withoutEventId: boolean } | null;
}

/**
 * Whether this response.create is rate-limited: an armed fault refuses the next ones, and until the
 * hinted time has passed every request is refused again (the service's limit is still reached).
 */
export function rateLimitRefusal(faults: FaultState): { form: 'error' | 'response'; retryAfterMs: number; code: string; withoutEventId: boolean } | null {
  const now = Date.now();
  if (faults.rateLimit && faults.rateLimit.left > 0) {
    const armed = faults.rateLimit;
    if (--armed.left <= 0) faults.rateLimit = null;
    faults.rateLimitedUntil = now + armed.retryAfterMs;
    faults.lastRateLimit = { form: armed.form, code: armed.code, withoutEventId: armed.withoutEventId };
    return armed;
  }
  if (now < faults.rateLimitedUntil && faults.lastRateLimit) return { ...faults.lastRateLimit, retryAfterMs: faults.rateLimitedUntil - now };
  return null;
}
