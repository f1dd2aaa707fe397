import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReceiveHealthReport } from '../voice/receiveHealth.ts';
import type { VoiceSession } from '../voice/voiceSession.ts';
import { SessionCountDeltas } from './sessionCountDeltas.ts';

type Counted = Pick<ReceiveHealthReport, 'framesDroppedUndecrypted' | 'framesUndecryptable' | 'daveErrorsContained' | 'deafnessDetected' | 'rejoins'>;

const COUNTS: readonly (keyof Counted)[] = ['framesDroppedUndecrypted', 'framesUndecryptable', 'daveErrorsContained', 'deafnessDetected', 'rejoins'];

/**
 * DAVE and receive-health metrics of the voice sessions: frames dropped (still encrypted or
 * undecryptable), DAVE errors contained, deafness detected, recovery rejoins, and how many
 * sessions are end-to-end encrypted now. Sessions keep cumulative counts; what grew since the
 * last scrape (or until the session ended) is added to the process-wide counters.
 */
export class VoiceHealthMetrics {
  readonly #sessions: SessionCountDeltas<keyof Counted>;
  readonly #dropped: Counter<'reason'>;
  readonly #errors: Counter;
  readonly #deafness: Counter;
  readonly #rejoins: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#sessions = new SessionCountDeltas(COUNTS, (session) => session.receiveHealth, (grew) => this.#add(grew));
    const collect = () => this.#sessions.addGrowth();
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
        for (const session of sessions.sessions) if (session.receiveHealth?.groupReady) ready++;
        this.set(ready);
      },
    });
  }

  /** Follows a voice session until it is destroyed. */
  track(session: VoiceSession): void {
    this.#sessions.track(session);
  }

  #add(grew: Counted): void {
    this.#dropped.inc({ reason: 'still_encrypted' }, grew.framesDroppedUndecrypted);
    this.#dropped.inc({ reason: 'undecryptable' }, grew.framesUndecryptable);
    this.#errors.inc(grew.daveErrorsContained);
    this.#deafness.inc(grew.deafnessDetected);
    this.#rejoins.inc(grew.rejoins);
  }
}
