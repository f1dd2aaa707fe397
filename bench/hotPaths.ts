/**
 * The main thread's per-frame work that stays on it, each piece alone (`npm run bench -- hotpaths`):
 * parsing the model's deltas, writing and sending an input append, and one received packet through
 * the receive path. The load bench shows these inside everything else; here a change to one of them
 * can be compared before and after (bench/README.md, "Load with DAVE, session 6").
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { SpeakerMixer } from '../src/audio/mixer.ts';
import { silentLogger } from '../src/log.ts';
import { appendFrame } from '../src/realtime/appendFrame.ts';
import { parseServerFrame } from '../src/realtime/audioDeltaFrame.ts';
import { measure, timingRow, type BenchModule, type Report } from './harness.ts';

const ids = { event_id: 'event_DBvUf0hlYCJdKu5dQ6mJp', response_id: 'resp_DBvUeyY3Nn1lEJA8B3HPd', item_id: 'item_DBvUeHa3AbRDl6pOOoQbG', output_index: 0, content_index: 0 };

/** The model's frames as the service writes them: 100 ms of audio (the simulator's default delta), a transcript delta. */
function serverFrames(): { audio: Buffer; transcript: Buffer } {
  const audio = Buffer.from(JSON.stringify({ type: 'response.output_audio.delta', ...ids, delta: randomBytes(4800).toString('base64') }));
  const transcript = Buffer.from(JSON.stringify({ type: 'response.output_audio_transcript.delta', ...ids, delta: ' the weather' }));
  return { audio, transcript };
}

async function run(report: Report): Promise<void> {
  const { audio, transcript } = serverFrames();
  let sink: unknown;
  report(timingRow('hot_audio_delta_parse', measure(() => (sink = parseServerFrame(audio, silentLogger))), { unit: 'us/delta', what: '100 ms of 24 kHz audio, parsed and decoded' }));
  report(timingRow('hot_transcript_delta_parse', measure(() => (sink = parseServerFrame(transcript, silentLogger))), { unit: 'us/delta' }));

  // A session's mixer pull while nobody speaks (most ticks of most sessions), with two known speakers.
  const mixer = new SpeakerMixer();
  for (const id of ['a', 'b']) mixer.push(id, Buffer.from([0xf8, 0xff, 0xfe]), { timestamp: 0, arrivalMs: 0 });
  let pullMs = 0;
  report(timingRow('hot_mixer_pull_silent', measure(() => (sink = mixer.pull((pullMs += 20)))), { unit: 'us/frame' }));
  mixer.removeAll();

  const pcm = randomBytes(960); // one 20 ms frame of 24 kHz mono PCM16
  let n = 0;
  report(timingRow('hot_append_frame', measure(() => (sink = appendFrame(pcm, `evt_c1_${++n}`))), { unit: 'us/append', what: 'the bytes of one input_audio_buffer.append' }));

  // ws's framing of one append alone (header, masking key, the masked copy it sends): no socket.
  const wsDir = dirname(createRequire(import.meta.url).resolve('ws'));
  const Sender = createRequire(import.meta.url)(join(wsDir, 'lib', 'sender.js')) as { frame(data: Buffer, options: object): Buffer[] };
  const frame = appendFrame(pcm, 'evt_c1_1');
  const frameOptions = { fin: true, mask: true, opcode: 1, readOnly: true, rsv1: false };
  report(timingRow('hot_append_ws_frame', measure(() => (sink = Sender.frame(frame, frameOptions))), { unit: 'us/append', what: "ws's Sender.frame: masking and copying the append", ws_native_mask: wsMasksNatively() }));

  // The whole send of one append through ws to a local server (framing, masking, the socket write).
  const server = new WebSocketServer({ port: 0, perMessageDeflate: false });
  let received = 0;
  server.on('connection', (socket) => socket.on('message', () => received++));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
  const send = measure(() => client.send(appendFrame(pcm, `evt_c1_${++n}`), { binary: false }), { runs: 5, runMs: 60, warmupMs: 60 });
  report(timingRow('hot_append_send', send, { unit: 'us/append', what: 'appendFrame + ws send on a loopback socket (one write syscall)', ws_native_mask: wsMasksNatively() }));
  // Let the server read what was sent before closing (not measured).
  while (received < n - 1 && client.bufferedAmount > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  client.terminate();
  await new Promise((resolve) => server.close(resolve));
  void sink;
}

/** Whether ws masks frames with bufferutil's native code (else a JavaScript byte loop). */
function wsMasksNatively(): boolean {
  if (process.env.WS_NO_BUFFER_UTIL) return false;
  try {
    const { mask } = createRequire(import.meta.url)('bufferutil') as { mask: unknown };
    return /\[native code\]/.test(Function.prototype.toString.call(mask));
  } catch {
    return false;
  }
}

export const hotPathBenchmarks: BenchModule = { name: 'hotpaths', run };
