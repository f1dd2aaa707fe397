/**
 * Field parsers for environment variables, for the configuration schema: every variable arrives as
 * an optional string, an empty one means "not set", and a bad value becomes one sentence naming the
 * variable, the allowed range and what was given.
 */
import { z } from 'zod';

/** A number from `min` to `max` (whole when `whole`), `fallback` when unset or empty. */
function boundedNumber(name: string, min: number, max: number, fallback: number, whole: boolean) {
  return z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') return fallback;
      const parsed = Number(value);
      if (!(whole ? Number.isInteger(parsed) : Number.isFinite(parsed)) || parsed < min || parsed > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a ${whole ? 'whole number' : 'number'} from ${min} to ${max} (got "${value}")` });
        return z.NEVER;
      }
      return parsed;
    });
}

/** A whole number from `min` to `max`; `fallback` when unset or empty. */
export const integer = (name: string, min: number, max: number, fallback: number) => boundedNumber(name, min, max, fallback, true);

/** A finite number from `min` to `max`; `fallback` when unset or empty. */
export const number = (name: string, min: number, max: number, fallback: number) => boundedNumber(name, min, max, fallback, false);

/** Trimmed text, or undefined when unset or blank. */
export const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));
