/**
 * How each speaker's audio reaches the bot, for /status and the metrics: the jitter buffer's delay
 * now and what the measured jitter calls for, and what the network cost (frames concealed by PLC or
 * recovered from FEC, packets that came too late).
 *
 * @module
 */
import type { SpeakerMixerStats, SpeakerMixTotals } from '../audio/index.ts';

/** One speaker's input audio. */
export interface SpeakerInputAudio {
  speaker: string;
  /** Whether the speaker is mid-talkspurt now. */
  talking: boolean;
  /** Jitter-buffer delay of the last frame played (earliest possible arrival → played), ms. */
  playoutDelayMs: number;
  /** The delay the speaker's measured jitter calls for, ms. */
  targetDelayMs: number;
  /** Measured jitter (97th percentile of lateness), ms. */
  jitterMs: number;
  /** Frames concealed (PLC, or recovered from the next packet's FEC: `fecRecovered` of them). */
  concealed: number;
  fecRecovered: number;
  /** Packets dropped because they came after their frame had been concealed. */
  late: number;
}

/** The input audio of a voice session: per speaker now in the mixer, and totals over the session. */
export interface InputAudioReport {
  speakers: SpeakerInputAudio[];
  /** Summed over every speaker the session heard, including those who left. */
  totals: SpeakerMixTotals;
}

/** The report from the mixer's counters; `nameOf` turns a user id into the name shown. */
export function inputAudioReport(stats: SpeakerMixerStats, nameOf: (userId: string) => string): InputAudioReport {
  const speakers = Object.entries(stats.speakers).map(([id, s]) => ({
    speaker: nameOf(id),
    talking: s.talking,
    playoutDelayMs: s.playoutDelayMs,
    targetDelayMs: s.targetDelayMs,
    jitterMs: s.jitterMs,
    concealed: s.concealed,
    fecRecovered: s.fecRecovered,
    late: s.late,
  }));
  return { speakers, totals: { ...stats.totals } };
}

/** The /status line (null when nobody was heard yet): per speaker, delay and jitter now, then what the network cost. */
export function inputAudioStatusLine(report: InputAudioReport | null): string | null {
  if (!report || report.speakers.length === 0) return null;
  const ms = (value: number) => `${Math.round(value)} ms`;
  const parts = report.speakers.map((s) => {
    const losses = [`${s.concealed} concealed${s.fecRecovered > 0 ? ` (${s.fecRecovered} from FEC)` : ''}`, `${s.late} late`];
    return `${s.speaker}: ${ms(s.playoutDelayMs)} buffered (jitter ${ms(s.jitterMs)}), ${losses.join(', ')}`;
  });
  return `**Input audio** (jitter-buffer delay now; frames concealed, packets too late): ${parts.join('; ')}`;
}
