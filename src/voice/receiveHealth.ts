import type { VoiceConnection, VoiceConnectionState } from '@discordjs/voice';
import type { Logger } from 'pino';
import { DaveGuard, type DaveState } from './daveGuard.ts';
import { isOpusSilence, isUndecryptedDaveFrame } from './daveFrames.ts';
import { DeafnessWatch, type DeafnessWatchOptions } from './deafnessWatch.ts';
import { networkingOf } from './voiceInternals.ts';

/** What /status and the metrics show about a voice connection's end-to-end encryption and hearing. */
export interface ReceiveHealthReport extends DaveState {
  /** E2EE frames the library passed on undecrypted, dropped before the Opus decoder. */
  framesDroppedUndecrypted: number;
  /** Frames the library could not decrypt at all (its DAVE `decrypt` returned nothing). */
  framesUndecryptable: number;
  /** DAVE errors thrown inside the library's voice WebSocket handler and contained. */
  daveErrorsContained: number;
  /** Times a speaker's packets arrived for a whole window with no frame coming out. */
  deafnessDetected: number;
  /** Rejoins made to recover (DAVE error, silent deafness, persistent stream failures). */
  rejoins: number;
}

/** Options of {@link ReceiveHealth}. */
export interface ReceiveHealthOptions {
  connection: VoiceConnection;
  /** Carries the guild id. */
  logger: Logger;
  /** Whether the bot is listening to this user (a subscribed human). */
  isHeard(userId: string): boolean;
  /** Leaves and re-enters the channel: a fresh voice session and DAVE group membership. */
  rejoin(): void;
  deafness?: DeafnessWatchOptions;
  /** How often deafness is checked (default 500 ms). */
  checkEveryMs?: number;
  /** Fewest ms between two recovery rejoins (default 10 s). */
  minRejoinIntervalMs?: number;
}

/** A rejoin that has not brought the connection back by then no longer blocks the next one. */
const RECOVERY_TIMEOUT_MS = 20_000;

/** A speaker who stays unheard right after a rejoin is not our fault (their client sends what nobody can decrypt): no second rejoin for them within this time. */
const SAME_SPEAKER_REJOIN_COOLDOWN_MS = 5 * 60_000;

/**
 * Keeps a voice connection hearing through DAVE's failure modes in @discordjs/voice 0.19.2:
 * contains DAVE errors thrown in the library's WebSocket handler ({@link DaveGuard}); drops frames
 * that still carry DAVE encryption before they reach the Opus decoder (counted); detects silent
 * deafness ({@link DeafnessWatch}); and recovers by rejoining the channel — one rejoin at a time,
 * at most one per `minRejoinIntervalMs`, logged once with the guild.
 */
export class ReceiveHealth {
  readonly #options: ReceiveHealthOptions;
  readonly #log: Logger;
  readonly #guard: DaveGuard;
  readonly #watch: DeafnessWatch;
  readonly #timer: NodeJS.Timeout;
  readonly #deafRejoinAt = new Map<string, number>();
  readonly #counts = { framesDroppedUndecrypted: 0, framesUndecryptable: 0, daveErrorsContained: 0, deafnessDetected: 0, rejoins: 0 };
  readonly #onConnectionState = (previous: VoiceConnectionState, next: VoiceConnectionState) => this.#onState(previous, next);
  #lastRejoinAt = -Infinity;
  /** A rejoin under way: asked for, then reconnecting on a new networking, until the connection is Ready again. */
  #recovering: 'asked' | 'reconnecting' | null = null;
  #destroyed = false;

  constructor(options: ReceiveHealthOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.#watch = new DeafnessWatch(options.deafness);
    this.#guard = new DaveGuard({
      connection: options.connection,
      onError: (error, op) => this.#onDaveError(error, op),
      onUndecryptable: () => this.#counts.framesUndecryptable++,
    });
    options.connection.on('stateChange', this.#onConnectionState);
    this.#timer = setInterval(() => this.#check(), options.checkEveryMs ?? 500);
    this.#timer.unref();
  }

  /**
   * Decides whether a frame from the receiver may go to the Opus decoder: not if it still carries
   * DAVE encryption (counted). A voiced frame that passes proves the speaker is heard.
   */
  admitFrame(userId: string, frame: Buffer): boolean {
    if (isUndecryptedDaveFrame(frame)) {
      this.#counts.framesDroppedUndecrypted++;
      return false;
    }
    if (!isOpusSilence(frame)) this.#watch.frame(userId);
    return true;
  }

  /** A packet that may carry speech arrived from this user's SSRC. */
  voicedPacket(userId: string, at: number): void {
    if (this.#options.isHeard(userId)) this.#watch.packet(userId, at);
  }

  /** A user left the channel. */
  forget(userId: string): void {
    this.#watch.forget(userId);
    this.#deafRejoinAt.delete(userId);
  }

  /** The connection's DAVE state and the counters. */
  report(): ReceiveHealthReport {
    return { ...this.#guard.state(), ...this.#counts };
  }

  /**
   * Rejoins the channel to recover from `reason`, unless a rejoin is already under way or the last
   * one was less than `minRejoinIntervalMs` ago. Logs one warning with the guild (the logger's).
   */
  recover(reason: string, details: Record<string, unknown> = {}): boolean {
    const now = performance.now();
    const underWay = this.#recovering !== null && now - this.#lastRejoinAt < RECOVERY_TIMEOUT_MS;
    if (this.#destroyed || underWay || now - this.#lastRejoinAt < (this.#options.minRejoinIntervalMs ?? 10_000)) {
      this.#log.debug({ reason, ...details }, 'voice recovery already under way or too soon; not rejoining');
      return false;
    }
    this.#lastRejoinAt = now;
    this.#recovering = 'asked';
    this.#counts.rejoins++;
    this.#log.warn({ reason, ...details }, 'voice receive recovery: rejoining the channel');
    this.#options.rejoin();
    return true;
  }

  destroy(): void {
    this.#destroyed = true;
    clearInterval(this.#timer);
    this.#options.connection.off('stateChange', this.#onConnectionState);
    this.#guard.destroy();
    this.#watch.reset();
  }

  #onDaveError(error: unknown, op: number): void {
    this.#counts.daveErrorsContained++;
    const err = error instanceof Error ? error.message : String(error);
    // One warning per incident (recover logs it); further errors while recovering only at debug.
    if (!this.recover('dave-error', { op, err })) this.#log.debug({ op, err }, 'DAVE error contained while recovering');
  }

  #check(): void {
    const now = performance.now();
    for (const [userId, at] of this.#deafRejoinAt) if (now - at > SAME_SPEAKER_REJOIN_COOLDOWN_MS) this.#deafRejoinAt.delete(userId);
    const deaf = this.#watch.check(now);
    if (deaf.length === 0) return;
    this.#counts.deafnessDetected += deaf.length;
    const fresh = deaf.filter((userId) => !this.#deafRejoinAt.has(userId));
    if (fresh.length === 0) {
      this.#log.debug({ userIds: deaf }, 'still cannot hear these speakers after a rejoin; not rejoining again');
      return;
    }
    if (this.recover('deaf', { userIds: fresh, dave: this.#guard.state() })) for (const userId of fresh) this.#deafRejoinAt.set(userId, now);
  }

  #onState(previous: VoiceConnectionState, next: VoiceConnectionState): void {
    const before = (previous as { networking?: unknown }).networking;
    const after = networkingOf(this.#options.connection);
    // A new networking is a new voice session: new keys and SSRCs, a new DAVE group membership.
    if (after !== before) {
      this.#watch.reset();
      if (after && this.#recovering === 'asked') this.#recovering = 'reconnecting';
    }
    if (next.status === 'ready' && this.#recovering === 'reconnecting') this.#recovering = null;
    if (next.status === 'destroyed' || next.status === 'disconnected') this.#recovering = null;
  }
}
