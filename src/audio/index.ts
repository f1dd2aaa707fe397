/**
 * The audio core: Opus, 48 kHz ⇄ 24 kHz conversion, the inbound speaker mixer, the outbound
 * playback buffer and the shared 20 ms clock. Imports neither discord.js nor ws.
 *
 * @module
 */
export * from './format.ts';
export { levelDbfs } from './level.ts';
export { parseWav, encodeWav, readWavFile, writeWavFile, pcmBufferToSamples, samplesToPcmBuffer, WavFormatError, type PcmWav } from './wav.ts';
export {
  OpusFrameDecoder,
  OpusFrameEncoder,
  opusPacketSamples48k,
  type PcmFormat,
  type OpusEncoderOptions,
} from './opusCodec.ts';
export { loadOpusBackend, opusBackendName, type OpusBackend, type OpusBackendName, type LoadOpusOptions } from './opusBackend.ts';
export { Downsampler, Upsampler, resamplerKernel, availableResamplerKernels, type ResamplerKernel } from './resampler.ts';
export {
  SpeakerMixer,
  type SpeakerMixerOptions,
  type PacketTiming,
  type FrameDecoder,
  type MixedFrame,
  type SpeakerMixStats,
  type SpeakerMixerStats,
  type SpeakerMixTotals,
} from './mixer.ts';
export { SpeakerJitterBuffer, type SpeakerJitterStats, type PlayoutClock } from './speakerJitterBuffer.ts';
export { JitterEstimator, type JitterEstimatorOptions } from './jitterEstimator.ts';
export { PeakLimiter, type PeakLimiterOptions } from './limiter.ts';
export { PlaybackBuffer, type PlaybackBufferOptions, type PlaybackBufferStats } from './playbackBuffer.ts';
export { OpusEncoderThread, type OpusEncodeStream, type OpusEncoderThreadOptions } from './opusEncoderThread.ts';
export { FrameClock, type FrameTick, type FrameTickListener, type FrameClockOptions } from './frameClock.ts';
