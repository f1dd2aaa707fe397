import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { DISCORD_CHANNELS, DISCORD_FRAME_SAMPLES, DISCORD_SAMPLE_RATE, FRAME_MS, OPUS_SILENCE_FRAME } from '../../src/audio/format.ts';
import { readWavFile } from '../../src/audio/wav.ts';
import type { InteractionRecord } from './interactions.ts';
import type { SimMessage } from './messages.ts';
import { createOpusCodec, pcmFrame } from './opus.ts';
import type { RtpHeader } from './rtp.ts';
import type { SendTiming } from './voiceUdp.ts';
import { sleepUntil, waitUntil } from './wait.ts';

/** Imperfections applied to one `speak()` (probabilities 0..1 per packet; jitter adds 0..jitterMs of delay). */
export interface SpeakOptions {
  jitterMs?: number;
  loss?: number;
  reorder?: number;
  duplicate?: number;
  /** Source of randomness for the imperfections (default Math.random); pass a seeded PRNG to repeat a run. */
  random?: () => number;
  /**
   * Called after each packet was handed to the network, with how late it left: the send time minus
   * its schedule (capture time, plus the jitter asked for). A busy simulator sends late, which the
   * receiver sees as network jitter; benchmarks record it to tell that apart from the bot's delay.
   */
  onSent?: (header: RtpHeader, lateMs: number) => void;
  /**
   * Prepares each packet (DAVE and transport encryption) this many ms before it is due and hands it
   * to the network with its send time, instead of preparing and sending it when due: with the
   * simulator's timed sender (`DiscordSimulator.startTransmitThread`), packets then leave on time
   * however busy the simulator is, as a real member's do. `onSent` is then called when the network
   * reports the send, and only for packets the server took (member and bot in the same channel).
   */
  aheadMs?: number;
}

/** One packet the member heard from the bot. */
export interface HeardPacket {
  arrivalMs: number;
  seq: number;
  timestamp: number;
  /** Samples per channel decoded from it (0 for the `F8 FF FE` silence frame). */
  samples: number;
  silence: boolean;
  /** The frame arrived end-to-end encrypted (DAVE) and this member decrypted it. */
  e2ee: boolean;
  /** The member could not decrypt it (or refused it unencrypted once its DAVE group was ready): nothing was heard. */
  undecryptable: boolean;
}

/**
 * What a member keeps of the bot's audio: `pcm` (default) decodes every frame and keeps the sound;
 * `packets` keeps only each packet's facts (arrival, sequence, samples from the Opus TOC, silence,
 * E2EE) — for benchmarks with many listeners, where decoding on the simulator's loop would take the
 * CPU and timers the members' sends need (a real listener decodes on its own machine); `none`: the
 * member's client is not simulated as a listener — nothing is DAVE-decrypted or kept for it (a
 * benchmark's speakers, whose hearing nobody reads: each decryption is ≈ 20 µs of the simulator's
 * loop per frame). Discord and the bot see the same either way: the hub delivers in-process.
 */
export type Hearing = 'pcm' | 'packets' | 'none';

/** Opus frames prepared ahead (see `encodeOpusFrames`), one per 20 ms, sent as they are. */
export interface PreparedSpeech {
  opus: readonly Buffer[];
}

/** The simulator services a member uses. */
export interface MemberHub {
  defaultVoiceChannelId: string;
  setVoiceChannel(userId: string, channelId: string | null): void;
  /** Delivers one Opus frame from this member to the bot if the bot is in the member's voice channel. */
  deliverAudio(member: SimulatedMember, header: RtpHeader, opus: Buffer, timing?: SendTiming): void;
  runCommand(member: SimulatedMember, name: string, options: Record<string, string | number | boolean>, subcommand?: string, channelId?: string, focused?: string): InteractionRecord;
  say(member: SimulatedMember, content: string, options: { mentionBot?: boolean; mentionEveryone?: boolean; channelId?: string }): SimMessage;
}

/** Silence frames a Discord client sends at the end of a burst. */
const TRAILING_SILENCE_FRAMES = 5;

/**
 * A simulated human in the guild: joins and leaves voice channels, speaks (Opus in encrypted RTP at
 * a 20 ms pace), hears what the bot sends (decoded to 48 kHz stereo PCM with arrival times), types
 * messages and runs slash commands. Emits `heard` for each packet heard.
 */
export class SimulatedMember extends EventEmitter {
  readonly id: string;
  readonly name: string;
  /** The SSRC of this member's audio (announced to the bot with voice op 5 before its first packet). */
  readonly ssrc = randomInt(1, 2 ** 31);
  readonly #hub: MemberHub;
  #sequence = randomInt(0, 2 ** 16);
  #timestamp = randomInt(0, 2 ** 31);
  #lastSentAt = 0;
  #heardChunks: Int16Array[] = [];
  #heardPackets: HeardPacket[] = [];
  #codec = createOpusCodec();
  /** What this member keeps of what it hears (see {@link Hearing}); read by the simulator per packet. */
  hearing: Hearing = 'pcm';

  constructor(id: string, name: string, hub: MemberHub) {
    super();
    this.id = id;
    this.name = name;
    this.#hub = hub;
  }

  /** Joins a voice channel (default: the main one): VOICE_STATE_UPDATE to the bot, op 11 if it is the bot's channel. */
  async joinVoice(channelId: string = this.#hub.defaultVoiceChannelId): Promise<void> {
    this.#hub.setVoiceChannel(this.id, channelId);
  }

  /** Leaves voice: VOICE_STATE_UPDATE with a null channel, op 13 if it was the bot's channel. */
  async leaveVoice(): Promise<void> {
    this.#hub.setVoiceChannel(this.id, null);
  }

  /**
   * Speaks 48 kHz stereo PCM (or a WAV of that format): Opus frames every 20 ms with sequence +1 and
   * timestamp +960, then five silence frames. Resolves after the last packet was sent. Given
   * `{ opus }` (frames prepared ahead), sends those frames instead of encoding on the way.
   */
  async speak(audio: Int16Array | { wavPath: string } | PreparedSpeech, options: SpeakOptions = {}): Promise<{ startedAt: number; endedAt: number }> {
    const prepared = 'opus' in audio ? audio.opus : null;
    const pcm = audio instanceof Int16Array ? audio : 'wavPath' in audio ? await loadWav(audio.wavPath) : new Int16Array(0);
    const random = options.random ?? Math.random;
    const frameSamples = DISCORD_FRAME_SAMPLES * DISCORD_CHANNELS;
    const frameCount = prepared ? prepared.length : Math.ceil(pcm.length / frameSamples);
    // Frames are Opus-encoded as they are sent, one per 20 ms, as a real client does (encoding a
    // whole utterance up front would block the simulator and send the audio in bursts), and always in
    // capture order, every frame, whether or not the network then delays, reorders or loses its
    // packet: Opus is stateful, so a real client's packet k is encoded right after packet k − 1.
    const encoded: Buffer[] = [];
    const opusFor = (index: number): Buffer => {
      if (index >= frameCount) return Buffer.from(OPUS_SILENCE_FRAME);
      if (prepared) return prepared[index]!;
      while (encoded.length <= index) encoded.push(this.#codec.encode(pcmFrame(pcm, encoded.length)));
      return encoded[index]!;
    };
    const startedAt = performance.now();
    // The RTP clock keeps running while the member is silent, as in a real client.
    if (this.#lastSentAt > 0) this.#timestamp += Math.round((startedAt - this.#lastSentAt) / FRAME_MS) * DISCORD_FRAME_SAMPLES;
    const schedule: { at: number; header: RtpHeader; index: number }[] = [];
    for (let i = 0; i < frameCount + TRAILING_SILENCE_FRAMES; i++) {
      this.#sequence = (this.#sequence + 1) & 0xffff;
      this.#timestamp = (this.#timestamp + DISCORD_FRAME_SAMPLES) >>> 0;
      const header = { sequence: this.#sequence, timestamp: this.#timestamp, ssrc: this.ssrc };
      if (options.loss && random() < options.loss) continue;
      const at = startedAt + i * FRAME_MS + (options.jitterMs ? random() * options.jitterMs : 0);
      schedule.push({ at, header, index: i });
      if (options.duplicate && random() < options.duplicate) schedule.push({ at: at + 1, header, index: i });
    }
    for (let i = 0; i + 1 < schedule.length; i++) {
      if (options.reorder && random() < options.reorder) {
        const a = schedule[i]!;
        const b = schedule[i + 1]!;
        [a.at, b.at] = [b.at, a.at];
        i++;
      }
    }
    schedule.sort((a, b) => a.at - b.at);
    const aheadMs = options.aheadMs ?? 0;
    for (const item of schedule) {
      if (aheadMs > 0) {
        await sleepUntil(item.at - aheadMs);
        const onSent = options.onSent;
        this.#hub.deliverAudio(this, item.header, opusFor(item.index), { at: item.at, onSent: onSent && ((lateMs) => onSent(item.header, lateMs)) });
        continue;
      }
      await sleepUntil(item.at);
      this.#hub.deliverAudio(this, item.header, opusFor(item.index));
      options.onSent?.(item.header, performance.now() - item.at);
    }
    if (aheadMs > 0) await sleepUntil(schedule.at(-1)?.at ?? 0); // resolves once the last packet is due
    const endedAt = performance.now();
    this.#lastSentAt = endedAt;
    return { startedAt, endedAt };
  }

  /** @internal The simulator calls this with each packet of the bot's audio this member can hear. */
  hear(packet: HeardPacket, pcm: Int16Array | null): void {
    this.#heardPackets.push(packet);
    if (pcm) this.#heardChunks.push(pcm);
    this.emit('heard', packet);
  }

  /** Everything heard from the bot so far: concatenated PCM (silence frames excluded) and per-packet metadata. */
  heard(): { pcm: Int16Array; packets: HeardPacket[] } {
    const total = this.#heardChunks.reduce((n, c) => n + c.length, 0);
    const pcm = new Int16Array(total);
    let offset = 0;
    for (const chunk of this.#heardChunks) {
      pcm.set(chunk, offset);
      offset += chunk.length;
    }
    return { pcm, packets: [...this.#heardPackets] };
  }

  clearHeard(): void {
    this.#heardChunks = [];
    this.#heardPackets = [];
  }

  /** The first non-silent packet that arrived at or after `t` (performance.now() time). */
  firstPacketAfter(t: number): HeardPacket | undefined {
    return this.#heardPackets.find((p) => !p.silence && p.arrivalMs >= t);
  }

  /** Milliseconds of non-silent audio heard at or after `after`. */
  heardMs(after = 0): number {
    const samples = this.#heardPackets.filter((p) => p.arrivalMs >= after).reduce((n, p) => n + p.samples, 0);
    return (samples * 1000) / DISCORD_SAMPLE_RATE;
  }

  /** Resolves once at least `minMs` of audio arrived (after `after`, default 0); rejects after `timeoutMs`. */
  async waitForAudio(opts: { minMs: number; timeoutMs: number; after?: number }): Promise<void> {
    const after = opts.after ?? 0;
    await waitUntil(this, 'heard', () => (this.heardMs(after) >= opts.minMs ? true : undefined), opts.timeoutMs, () => `${this.name} to hear ${opts.minMs} ms of audio (heard ${this.heardMs(after).toFixed(0)} ms)`);
  }

  /**
   * Waits until the member heard audio that started at or after `after` and then stayed quiet for
   * `quietMs` (the end of a reply). Returns when the first packet arrived and how many ms were heard.
   */
  async waitForReplyEnd(opts: { after: number; timeoutMs?: number; quietMs?: number }): Promise<{ firstAt: number; ms: number }> {
    const { after, timeoutMs = 20_000, quietMs = 400 } = opts;
    const deadline = performance.now() + timeoutMs;
    await this.waitForAudio({ minMs: 100, timeoutMs, after });
    const firstAt = this.firstPacketAfter(after)!.arrivalMs;
    for (;;) {
      const last = this.#heardPackets.findLast((packet) => !packet.silence && packet.arrivalMs >= after)!.arrivalMs;
      if (performance.now() - last > quietMs) return { firstAt, ms: this.heardMs(after) };
      if (performance.now() > deadline) throw new Error(`${this.name}: the reply did not end within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Runs a slash command: dispatches INTERACTION_CREATE and returns the record of the bot's answers. */
  async runCommand(name: string, options: Record<string, string | number | boolean> = {}, subcommand?: string, channelId?: string): Promise<InteractionRecord> {
    return this.#hub.runCommand(this, name, options, subcommand, channelId);
  }

  /**
   * Types in an option of a slash command with autocomplete: Discord sends the bot an autocomplete
   * interaction (type 4) with `focused` marked and its partial text; the record holds the choices.
   */
  async autocomplete(name: string, options: Record<string, string | number | boolean>, focused: string, subcommand?: string): Promise<InteractionRecord> {
    return this.#hub.runCommand(this, name, options, subcommand, undefined, focused);
  }

  /** Types a message (MESSAGE_CREATE); `mentionBot` prefixes `<@BOTID>` and lists the bot in `mentions`. */
  async say(content: string, options: { mentionBot?: boolean; mentionEveryone?: boolean; channelId?: string } = {}): Promise<SimMessage> {
    return this.#hub.say(this, content, options);
  }
}

async function loadWav(path: string): Promise<Int16Array> {
  const wav = await readWavFile(path);
  if (wav.sampleRate !== DISCORD_SAMPLE_RATE || wav.channels !== DISCORD_CHANNELS) {
    throw new Error(`speak() needs 48 kHz stereo PCM16; ${path} is ${wav.sampleRate} Hz, ${wav.channels} channel(s)`);
  }
  return wav.samples;
}
