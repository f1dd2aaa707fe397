import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inputAudioReport, inputAudioStatusLine } from '../../src/voice/inputAudioReport.ts';
import type { SpeakerMixStats, SpeakerMixerStats } from '../../src/audio/index.ts';

const speakerStats = (overrides: Partial<SpeakerMixStats>): SpeakerMixStats => ({
  received: 100, decoded: 90, concealed: 0, fecRecovered: 0, late: 0, duplicate: 0, overflow: 0, talkspurts: 1, stretched: 0, trimmed: 0,
  bufferedMs: 40, delayMs: 41, playoutDelayMs: 52.4, targetDelayMs: 41, jitterMs: 38.6, contributed: 90, talking: true, ...overrides,
});

describe('input audio report', () => {
  it('names each speaker and carries their delay and loss counters; totals include speakers who left', () => {
    const stats: SpeakerMixerStats = {
      framesMixed: 500,
      limitedFrames: 0,
      speakers: { '11': speakerStats({ concealed: 9, fecRecovered: 2, late: 1 }), '22': speakerStats({ talking: false, playoutDelayMs: 18, jitterMs: 3 }) },
      totals: { concealed: 30, fecRecovered: 2, late: 4, stretched: 1, trimmed: 2 },
    };
    const report = inputAudioReport(stats, (id) => (id === '11' ? 'Alice' : 'Bob'));
    assert.deepEqual(report.speakers.map((s) => [s.speaker, s.talking, s.playoutDelayMs, s.concealed, s.fecRecovered, s.late]), [
      ['Alice', true, 52.4, 9, 2, 1],
      ['Bob', false, 18, 0, 0, 0],
    ]);
    assert.deepEqual(report.totals, stats.totals);
    assert.equal(
      inputAudioStatusLine(report),
      '**Input audio** (jitter-buffer delay now; frames concealed, packets too late): Alice: 52 ms buffered (jitter 39 ms), 9 concealed (2 from FEC), 1 late; Bob: 18 ms buffered (jitter 3 ms), 0 concealed, 0 late',
    );
  });

  it('has no /status line before anyone was heard, or outside voice', () => {
    assert.equal(inputAudioStatusLine({ speakers: [], totals: { concealed: 0, fecRecovered: 0, late: 0, stretched: 0, trimmed: 0 } }), null);
    assert.equal(inputAudioStatusLine(null), null);
  });
});
