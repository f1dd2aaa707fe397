/**
 * The audio formats of the bot, in one place. Discord carries Opus in 20 ms frames, decoded at
 * 48 kHz (members' clients decode to 48 kHz stereo; the bot sends mono, see PLAYBACK_FRAME_SAMPLES);
 * realtime speech-to-speech models take and return 24 kHz mono PCM16 (little-endian).
 */

/** Duration of one Discord Opus frame, and the tick of every audio clock in the bot. */
export const FRAME_MS = 20;

/** Discord voice: sample rate, channels, samples per channel per frame, bytes per PCM16 frame. */
export const DISCORD_SAMPLE_RATE = 48_000;
export const DISCORD_CHANNELS = 2;
export const DISCORD_FRAME_SAMPLES = (DISCORD_SAMPLE_RATE * FRAME_MS) / 1000; // 960 per channel
export const DISCORD_FRAME_BYTES = DISCORD_FRAME_SAMPLES * DISCORD_CHANNELS * 2; // 3840

/** Realtime model audio: sample rate, channels, samples per 20 ms frame, bytes per 20 ms frame. */
export const REALTIME_SAMPLE_RATE = 24_000;
export const REALTIME_CHANNELS = 1;
export const REALTIME_FRAME_SAMPLES = (REALTIME_SAMPLE_RATE * FRAME_MS) / 1000; // 480
export const REALTIME_FRAME_BYTES = REALTIME_FRAME_SAMPLES * REALTIME_CHANNELS * 2; // 960

/**
 * What the bot Opus-encodes for playback: the model's audio as it comes, 24 kHz mono, 480 samples
 * per 20 ms frame. libopus takes 24 kHz input and the packets are ordinary Opus: receivers decode at
 * 48 kHz (the RTP clock stays 48 kHz, +960 per packet), an RTP receiver must decode mono and stereo
 * packets alike (RFC 7587, the `stereo` parameter), and a stereo decoder plays a mono packet on both
 * channels. Mono is what Discord's own clients send for a voice (the desktop client downmixes the
 * microphone before encoding: powercord-community/suggestions#70, Lightcord/Lightcord#229); music
 * bots send stereo.
 * No upsampling or upmix on the way: a 4× smaller frame for the encoder thread, and a cheaper encode.
 */
export const PLAYBACK_ENCODE_SAMPLE_RATE = REALTIME_SAMPLE_RATE;
export const PLAYBACK_ENCODE_CHANNELS = REALTIME_CHANNELS;
export const PLAYBACK_FRAME_SAMPLES = REALTIME_FRAME_SAMPLES * REALTIME_CHANNELS; // 480

/** Bytes of 24 kHz mono PCM16 per millisecond (the realtime API's "ms = bytes / 48"). */
export const REALTIME_BYTES_PER_MS = (REALTIME_SAMPLE_RATE * REALTIME_CHANNELS * 2) / 1000; // 48

/** Milliseconds of audio in a 24 kHz mono PCM16 buffer of this many bytes. */
export function realtimeBytesToMs(bytes: number): number {
  return bytes / REALTIME_BYTES_PER_MS;
}

/** Bytes of 24 kHz mono PCM16 that last this many milliseconds (rounded down to whole samples). */
export function realtimeMsToBytes(ms: number): number {
  return Math.floor((ms * REALTIME_SAMPLE_RATE) / 1000) * REALTIME_CHANNELS * 2;
}

/** The Opus frame Discord clients send to end a burst of speech (and that a silent sender may send). */
export const OPUS_SILENCE_FRAME: Readonly<Buffer> = Buffer.from([0xf8, 0xff, 0xfe]);
