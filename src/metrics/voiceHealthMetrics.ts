import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReceiveHealthReport } from '../voice/receiveHealth.ts';
import type { VoiceSession } from '../voice/voiceSession.ts';

type Counted = Pick<ReceiveHealthReport, 'framesDroppedUndecrypted' | 'framesUndecryptable' | 'daveErrorsContained' | 'deafnessDetected' | 'rejoins'>;

const ZERO: Counted = { framesDroppedUndecrypted: 0, framesUndecryptable: 0, daveErrorsContained: 0, deafnessDetected: 0, rejoins: 0 };

/**
 * DAVE and receive-health metrics of the voice sessions: frames dropped (still encrypted or
 * undecryptable), DAVE errors contained, deafness detected, recovery rejoins, and how many
 * sessions are end-to-end encrypted now. Sessions keep cumulative counts; what grew since the
 * last scrape (or until the session ended) is added to the process-wide counters.
 */
export class VoiceHealthMetrics {
  readonly #sessions = new Map<VoiceSession, Counted>();
  readonly #dropped: Counter<'reason'>;
  readonly #errors: Counter;
  readonly #deafness: Counter;
  readonly #rejoins: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    const collect = () => {
      for (const session of this.#sessions.keys()) this.#add(session);
    };
    this.#dropped = new Counter({
      name: 'voicebot_dave_frames_dropped_total',
      help: 'Received voice frames dropped before the Opus decoder: still_encrypted (E2EE frames the voice library passed on undecrypted, e.g. before the MLS Welcome) or undecryptable (the library could not decrypt them).',
      labelNames: ['reason'],
      registers,
      collect,
    });
    for (const reason of ['still_encrypted', 'undecryptable']) this.#dropped.inc({ reason }, 0);
    this.#errors = new Counter({ name: 'voicebot_dave_errors_contained_total', help: 'DAVE errors thrown inside the voice library and contained to their voice connection (which then rejoins).', registers, collect });
    this.#deafness = new Counter({ name: 'voicebot_voice_deafness_detected_total', help: "Times a speaker's packets kept arriving but no frame came out for the detection window.", registers, collect });
    this.#rejoins = new Counter({ name: 'voicebot_voice_recovery_rejoins_total', help: 'Rejoins of a voice channel to recover hearing (DAVE error, deafness, persistent decryption failures).', registers, collect });
    const sessions = this.#sessions;
    new Gauge({
      name: 'voicebot_voice_sessions_e2ee',
      help: 'Voice sessions whose DAVE group is ready (audio end-to-end encrypted both ways).',
      registers,
      collect() {
        let ready = 0;
        for (const session of sessions.keys()) if (session.receiveHealth?.groupReady) ready++;
        this.set(ready);
      },
    });
  }

  /** Follows a voice session until it is destroyed. */
  track(session: VoiceSession): void {
    this.#sessions.set(session, { ...ZERO });
    session.once('destroyed', () => {
      this.#add(session);
      this.#sessions.delete(session);
    });
  }

  #add(session: VoiceSession): void {
    const seen = this.#sessions.get(session);
    if (!seen) return;
    const now = session.receiveHealth as Counted | undefined;
    if (!now) return;
    // A scrape must never throw: anything but a finite count that grew adds nothing.
    const grew = (key: keyof Counted) => (Number.isFinite(now[key]) ? Math.max(0, now[key] - seen[key]) : 0);
    this.#dropped.inc({ reason: 'still_encrypted' }, grew('framesDroppedUndecrypted'));
    this.#dropped.inc({ reason: 'undecryptable' }, grew('framesUndecryptable'));
    this.#errors.inc(grew('daveErrorsContained'));
    this.#deafness.inc(grew('deafnessDetected'));
    this.#rejoins.inc(grew('rejoins'));
    const next = { ...seen };
    for (const key of Object.keys(ZERO) as (keyof Counted)[]) next[key] = seen[key] + grew(key);
    this.#sessions.set(session, next);
  }
}
