import { Counter, Gauge, type Registry } from 'prom-client';
import type { SpeakerMixTotals } from '../audio/index.ts';
import type { InputAudioReport } from '../voice/inputAudioReport.ts';
import type { VoiceSession } from '../voice/voiceSession.ts';
import { SessionCountDeltas } from './sessionCountDeltas.ts';

const COUNTS: readonly (keyof SpeakerMixTotals)[] = ['concealed', 'fecRecovered', 'late', 'stretched', 'trimmed'];

/**
 * Input-audio metrics of the voice sessions: frames concealed (libopus PLC, or recovered from the
 * next packet's in-band FEC), packets dropped as too late, the jitter buffers' delay adjustments
 * (stretched by a concealed frame, or a quiet frame left out), and the jitter-buffer delay of the
 * speakers talking now. Per process, no per-speaker labels (they would grow without bound): /status
 * shows each speaker. Sessions keep cumulative counts; what grew since the last scrape (or until the
 * session ended) is added to the counters.
 */
export class InputAudioMetrics {
  readonly #sessions: SessionCountDeltas<keyof SpeakerMixTotals>;
  readonly #concealed: Counter<'method'>;
  readonly #late: Counter;
  readonly #adjusted: Counter<'direction'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#sessions = new SessionCountDeltas(COUNTS, (session) => reportOf(session)?.totals, (grew) => this.#add(grew));
    const collect = () => this.#sessions.addGrowth();
    this.#concealed = new Counter({
      name: 'voicebot_input_frames_concealed_total',
      help: "Speakers' 20 ms frames whose packet was missing when due: concealed by libopus PLC (method=plc) or recovered from the next packet's in-band FEC (method=fec).",
      labelNames: ['method'],
      registers,
      collect,
    });
    for (const method of ['plc', 'fec']) this.#concealed.inc({ method }, 0);
    this.#late = new Counter({ name: 'voicebot_input_packets_late_total', help: "Speakers' packets dropped because they arrived after their frame had been concealed.", registers, collect });
    this.#adjusted = new Counter({
      name: 'voicebot_input_delay_adjustments_total',
      help: 'Jitter-buffer delay changes mid-speech: stretched (a frame concealed while the network ran late: +20 ms) or trimmed (a quiet frame left out: −20 ms).',
      labelNames: ['direction'],
      registers,
      collect,
    });
    for (const direction of ['stretched', 'trimmed']) this.#adjusted.inc({ direction }, 0);
    const sessions = this.#sessions;
    new Gauge({
      name: 'voicebot_input_playout_delay_seconds',
      help: 'Jitter-buffer delay of the speakers talking now (earliest possible arrival → played, the mixer tick included): the largest (stat=max) and the mean (stat=mean); 0 when nobody talks.',
      labelNames: ['stat'],
      registers,
      collect() {
        const delays: number[] = [];
        for (const session of sessions.sessions) {
          for (const speaker of reportOf(session)?.speakers ?? []) if (speaker.talking && Number.isFinite(speaker.playoutDelayMs)) delays.push(speaker.playoutDelayMs / 1000);
        }
        this.set({ stat: 'max' }, delays.length === 0 ? 0 : Math.max(...delays));
        this.set({ stat: 'mean' }, delays.length === 0 ? 0 : delays.reduce((a, b) => a + b, 0) / delays.length);
      },
    });
  }

  /** Follows a voice session until it is destroyed. */
  track(session: VoiceSession): void {
    this.#sessions.track(session);
  }

  #add(grew: SpeakerMixTotals): void {
    this.#concealed.inc({ method: 'fec' }, grew.fecRecovered);
    this.#concealed.inc({ method: 'plc' }, Math.max(0, grew.concealed - grew.fecRecovered));
    this.#late.inc(grew.late);
    this.#adjusted.inc({ direction: 'stretched' }, grew.stretched);
    this.#adjusted.inc({ direction: 'trimmed' }, grew.trimmed);
  }
}

/** The session's input-audio report, or undefined when it has none (or reading it throws: a scrape never fails). */
function reportOf(session: VoiceSession): InputAudioReport | undefined {
  try {
    return session.inputAudio ?? undefined;
  } catch {
    return undefined;
  }
}
