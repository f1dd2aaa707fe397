/**
 * What answering only when addressed costs an addressed turn: the same member speaks turns that name
 * the bot, alternating `always` and `name` mode turn by turn (paired, same process, same stack). In
 * `name` mode the answer is asked for at once and its audio held until the transcript's words so far
 * name the bot (src/voice/addressing.ts), so the added latency is how much later the name is
 * transcribed than the model's first audio. Cases:
 * - whisper-1 (the default): the whole transcript 300 ms after the commit, with a model answering at
 *   once (the worst case) and after 400 ms of thinking; and 100 ms after the commit (what livekit
 *   observed of the service's post-commit transcription: "within ~100ms");
 * - gpt-realtime-whisper: words streamed while the person speaks, each 300 ms after its audio (one
 *   word per 300 ms of speech), the rest 300 ms after the commit; model answering at once.
 */
import { utterance } from '../sim/speech.ts';
import { startLocalStack } from '../scripts/localStack.ts';
import type { Report } from './harness.ts';

const TURNS_PER_MODE = 8;
export const TRANSCRIPT_DELAY_MS = 300;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const round = (value: number) => Math.round(value * 10) / 10;

/** Heard latency per mode (last speech packet sent → first reply packet heard), interleaved turn by turn. */
interface Case {
  transcriptionModel: 'whisper-1' | 'gpt-realtime-whisper';
  transcriptDelayMs: number;
  firstDeltaDelayMs: number;
}

async function measure({ transcriptionModel, transcriptDelayMs, firstDeltaDelayMs }: Case): Promise<{ always: number[]; name: number[] }> {
  const stack = await startLocalStack({
    logLevel: 'warn',
    env: { VOICE_TRANSCRIPTION_MODEL: transcriptionModel },
    realtime: { replyAudioMs: 800, deltaMs: 100, burstFactor: 4, transcriptDelayMs, firstDeltaDelayMs, streamingTranscription: { msPerWord: 300, lagMs: 300 } },
  });
  try {
    const { discord } = stack;
    const speaker = discord.member('Alice');
    const listener = discord.member('Carol');
    await Promise.all([speaker.joinVoice(), listener.joinVoice()]);
    await (await speaker.runCommand('join')).waitForContent(20_000);
    const { rooms } = stack.bot.context.sessions;
    const heard = { always: [] as number[], name: [] as number[] };
    for (let turn = 0; turn < TURNS_PER_MODE * 2; turn++) {
      const mode = turn % 2 === 0 ? 'always' : 'name';
      await rooms.update(discord.guildId, { addressing: mode, followUpSeconds: 0 });
      stack.realtime!.scriptTranscript('Hey Realtime Bot, what do you think?');
      const { endedAt } = await speaker.speak(utterance(1.0, 200 + turn));
      const reply = await listener.waitForReplyEnd({ after: endedAt, timeoutMs: 20_000 });
      heard[mode].push(reply.firstAt - endedAt);
    }
    return heard;
  } finally {
    await stack.close();
  }
}

const CASES: Case[] = [
  { transcriptionModel: 'whisper-1', transcriptDelayMs: TRANSCRIPT_DELAY_MS, firstDeltaDelayMs: 0 },
  { transcriptionModel: 'whisper-1', transcriptDelayMs: TRANSCRIPT_DELAY_MS, firstDeltaDelayMs: 400 },
  { transcriptionModel: 'whisper-1', transcriptDelayMs: 100, firstDeltaDelayMs: 0 },
  { transcriptionModel: 'gpt-realtime-whisper', transcriptDelayMs: TRANSCRIPT_DELAY_MS, firstDeltaDelayMs: 0 },
];

/** Reports the p50 latency of `name` over `always` for each case. */
export async function addressingLatency(report: Report): Promise<void> {
  for (const which of CASES) {
    const { always, name } = await measure(which);
    const added = percentile(name, 50) - percentile(always, 50);
    const thinkingMs = which.firstDeltaDelayMs;
    report({
      name: `addressing_name_added_latency_p50_${which.transcriptionModel}_transcript_${which.transcriptDelayMs}ms_model_${thinkingMs}ms`,
      value: round(added),
      unit: 'ms',
      goal: '<= 150',
      always_p50: round(percentile(always, 50)),
      name_p50: round(percentile(name, 50)),
      turns_per_mode: always.length,
      transcription_model: which.transcriptionModel,
      transcript_delay_ms: which.transcriptDelayMs,
      model_first_audio_delay_ms: thinkingMs,
    });
  }
}

// Allow `node bin/run.mjs bench/addressingLatency.ts` on its own.
if (import.meta.url === `file://${process.argv[1]}`) {
  await addressingLatency((row) => console.log(JSON.stringify(row)));
}
