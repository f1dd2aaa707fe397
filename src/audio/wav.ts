import { readFile, writeFile } from 'node:fs/promises';

/** A decoded PCM16 WAV: interleaved little-endian samples. */
export interface PcmWav {
  sampleRate: number;
  channels: number;
  /** Interleaved signed 16-bit samples. */
  samples: Int16Array;
}

/** A WAV file that is damaged or not 16-bit PCM; the message is meant for the user. */
export class WavFormatError extends Error {
  override name = 'WavFormatError';
}

/**
 * Parses a RIFF/WAVE buffer holding 16-bit PCM (format 1, or WAVE_FORMAT_EXTENSIBLE with the PCM
 * sub-format). Anything else throws {@link WavFormatError} with a sentence saying what is wrong.
 */
export function parseWav(bytes: Uint8Array): PcmWav {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.byteLength < 12 || ascii(0) !== 'RIFF' || ascii(8) !== 'WAVE') {
    throw new WavFormatError('not a WAV file (no RIFF/WAVE header)');
  }
  let format: { audioFormat: number; channels: number; sampleRate: number; bitsPerSample: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.byteLength) {
    const id = ascii(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.byteLength) throw new WavFormatError('damaged WAV: fmt chunk is truncated');
      let audioFormat = view.getUint16(body, true);
      if (audioFormat === 0xfffe && size >= 40 && body + 26 <= bytes.byteLength) {
        audioFormat = view.getUint16(body + 24, true); // sub-format GUID starts with the format tag
      }
      format = {
        audioFormat,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bitsPerSample: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!format) throw new WavFormatError('damaged WAV: data chunk before fmt chunk');
      if (format.audioFormat !== 1 || format.bitsPerSample !== 16) {
        throw new WavFormatError(
          `unsupported WAV encoding (format ${format.audioFormat}, ${format.bitsPerSample}-bit): only 16-bit PCM is supported`,
        );
      }
      if (format.channels < 1 || format.sampleRate < 1) throw new WavFormatError('damaged WAV: zero channels or sample rate');
      // A writer that streamed the file may leave the size at 0 or 0xFFFFFFFF: take what is there.
      const available = bytes.byteLength - body;
      const length = size === 0 || size > available ? available : size;
      const frameBytes = format.channels * 2;
      const usable = length - (length % frameBytes);
      const samples = new Int16Array(usable / 2);
      for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(body + i * 2, true);
      return { sampleRate: format.sampleRate, channels: format.channels, samples };
    }
    offset = body + size + (size % 2); // chunks are padded to even sizes
  }
  throw new WavFormatError(format ? 'damaged WAV: no data chunk' : 'damaged WAV: no fmt chunk');
}

/** Encodes interleaved PCM16 samples as a canonical 44-byte-header WAV. */
export function encodeWav(wav: PcmWav): Buffer {
  const dataBytes = wav.samples.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(wav.channels, 22);
  out.writeUInt32LE(wav.sampleRate, 24);
  out.writeUInt32LE(wav.sampleRate * wav.channels * 2, 28);
  out.writeUInt16LE(wav.channels * 2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < wav.samples.length; i++) out.writeInt16LE(wav.samples[i]!, 44 + i * 2);
  return out;
}

/** Reads and parses a PCM16 WAV file. Throws {@link WavFormatError} for damaged or unsupported files. */
export async function readWavFile(path: string): Promise<PcmWav> {
  return parseWav(await readFile(path));
}

/** Writes interleaved PCM16 samples to a WAV file. */
export async function writeWavFile(path: string, wav: PcmWav): Promise<void> {
  await writeFile(path, encodeWav(wav));
}

/** Views a little-endian PCM16 Buffer as samples without copying when aligned. */
export function pcmBufferToSamples(pcm: Buffer): Int16Array {
  if (pcm.byteOffset % 2 === 0) return new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.byteLength / 2));
  return new Int16Array(Uint8Array.from(pcm).buffer, 0, Math.floor(pcm.byteLength / 2));
}

/** Views samples as a little-endian PCM16 Buffer without copying. */
export function samplesToPcmBuffer(samples: Int16Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}
