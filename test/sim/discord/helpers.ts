import * as voiceModule from '@discordjs/voice';
import type { VoiceConnection } from '@discordjs/voice';
import { Client, GatewayIntentBits, type Guild } from 'discord.js';
import { DISCORD_FRAME_SAMPLES, DISCORD_SAMPLE_RATE, FRAME_MS, OPUS_SILENCE_FRAME } from '../../../src/audio/format.ts';
import { createOpusCodec } from '../../../sim/discord/opus.ts';
import { startDiscordSimulator, trustSimulatorCertificate, type DiscordSimulator, type DiscordSimulatorOptions } from '../../../sim/discord/index.ts';

// xchacha20 mode works because bin/run.mjs preloads bin/sodiumCompat.mjs into every test worker.
export const voice = voiceModule;
const { entersState, joinVoiceChannel, VoiceConnectionStatus } = voice;

/** A running simulator with a logged-in discord.js client (the real library, only rest.api changed). */
export interface Harness {
  sim: DiscordSimulator;
  client: Client;
  guild: Guild;
  close(): Promise<void>;
}

export const INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates, GatewayIntentBits.GuildMessages];

export async function startHarness(options: DiscordSimulatorOptions = {}, intents = INTENTS): Promise<Harness> {
  trustSimulatorCertificate();
  const sim = await startDiscordSimulator(options);
  const client = new Client({ intents, rest: { api: sim.rest } });
  const ready = new Promise<void>((resolve) => client.once('clientReady', () => resolve()));
  await client.login(sim.token);
  await ready;
  const guild = client.guilds.cache.get(sim.guildId);
  if (!guild) throw new Error('guild not in cache after ready');
  return {
    sim,
    client,
    guild,
    async close() {
      await client.destroy();
      await sim.close();
    },
  };
}

/** joinVoiceChannel exactly as the bot does, waiting for Ready. */
export async function joinVoice(h: Harness, channelId = h.sim.voiceChannelId): Promise<VoiceConnection> {
  const connection = joinVoiceChannel({ channelId, guildId: h.guild.id, adapterCreator: h.guild.voiceAdapterCreator, selfDeaf: false });
  await entersState(connection, VoiceConnectionStatus.Ready, 10_000);
  return connection;
}

/** Interleaved 48 kHz stereo sine. */
export function sine(ms: number, hz = 440, amplitude = 8000): Int16Array {
  const frames = Math.round((ms * DISCORD_SAMPLE_RATE) / 1000);
  const pcm = new Int16Array(frames * 2);
  for (let i = 0; i < frames; i++) {
    const v = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / DISCORD_SAMPLE_RATE));
    pcm[2 * i] = v;
    pcm[2 * i + 1] = v;
  }
  return pcm;
}

/** Plays PCM through `connection.playOpusPacket` at a 20 ms pace, then five silence frames. */
export async function playPcm(connection: VoiceConnection, pcm: Int16Array): Promise<void> {
  const codec = createOpusCodec();
  const step = DISCORD_FRAME_SAMPLES * 2;
  const start = performance.now();
  let i = 0;
  const frames: Buffer[] = [];
  for (let offset = 0; offset + step <= pcm.length; offset += step) {
    const chunk = pcm.subarray(offset, offset + step);
    frames.push(codec.encode(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  }
  for (let k = 0; k < 5; k++) frames.push(Buffer.from(OPUS_SILENCE_FRAME));
  for (const frame of frames) {
    const wait = start + i * FRAME_MS - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    connection.playOpusPacket(frame);
    i++;
  }
}

/** Root-mean-square of interleaved PCM. */
export function rms(pcm: Int16Array): number {
  if (pcm.length === 0) return 0;
  let sum = 0;
  for (const v of pcm) sum += v * v;
  return Math.sqrt(sum / pcm.length);
}

/** Dominant frequency estimate from zero crossings of the left channel. */
export function zeroCrossingHz(pcm: Int16Array): number {
  let crossings = 0;
  for (let i = 2; i < pcm.length; i += 2) if ((pcm[i - 2]! < 0) !== (pcm[i]! < 0)) crossings++;
  return crossings / 2 / (pcm.length / 2 / DISCORD_SAMPLE_RATE);
}

/** Polls `check` every 10 ms until it holds (rejects after `timeoutMs` with `what`). */
export async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
