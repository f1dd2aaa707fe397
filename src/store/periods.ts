/**
 * Budget periods, in UTC: a day is `YYYY-MM-DD`, a month `YYYY-MM`. UTC so every shard on every
 * machine agrees on when a period ends, whatever its time zone.
 */
import type { DayKey } from './store.ts';

/** The UTC calendar day of a moment, `YYYY-MM-DD`. */
export function dayKey(at: Date): DayKey {
  return at.toISOString().slice(0, 10);
}

/** The UTC calendar month of a moment, `YYYY-MM`. */
export function monthKey(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/** First and last day of the UTC month of a moment (as day keys, inclusive). */
export function monthDays(at: Date): { from: DayKey; to: DayKey } {
  const lastDay = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 0));
  return { from: `${monthKey(at)}-01`, to: dayKey(lastDay) };
}

/** The day `days` days before the moment's UTC day. */
export function daysBefore(at: Date, days: number): DayKey {
  return dayKey(new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() - days)));
}

/** When the moment's UTC day ends (the next midnight UTC). */
export function endOfDay(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1));
}

/** When the moment's UTC month ends (the first of the next month, midnight UTC). */
export function endOfMonth(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
}
