/**
 * When a talkspurt's frames play: where a new talkspurt is anchored on the output clock, and how
 * late (after its earliest possible arrival) a slot of it plays. The jitter buffer steers by these.
 *
 * @module
 */
import { FRAME_MS } from './format.ts';
import type { PlayoutClock } from './jitterBufferTypes.ts';
import type { JitterEstimator } from './jitterEstimator.ts';
import { FRAME_TICKS } from './rtpTimeline.ts';

/** Slot s of a talkspurt (unwrapped RTP timestamp `ext + 960·s`) plays in output frame `frame + s`. */
export interface TalkspurtAnchor {
  ext: number;
  frame: number;
}

/**
 * Anchors a talkspurt whose first packet (unwrapped timestamp `ext`) arrived at `arrivalMs`, with
 * the delay the measured jitter calls for (`fallbackDelayMs` before anything was measured). Starts
 * the estimator's new segment with this packet.
 */
export function anchorTalkspurt(estimator: JitterEstimator, clock: PlayoutClock, ext: number, arrivalMs: number, fallbackDelayMs: number): { anchor: TalkspurtAnchor; delayMs: number } {
  const minTransit = estimator.minTransitMs; // the last talkspurt's quickest packet
  let lateness = minTransit === undefined ? undefined : arrivalMs - ext / 48 - minTransit;
  // A packet far later than any we would wait for means the sender's clock moved (its
  // timestamps did not run during a pause, or restarted): measure afresh from here.
  if (lateness !== undefined && lateness > 1000) {
    estimator.reset();
    lateness = undefined;
  }
  const delayMs = estimator.samples === 0 ? fallbackDelayMs : estimator.targetDelayMs;
  // How late this first packet is tells how much of the delay it already used up, if the sender's
  // RTP clock ran on in step with ours through the pause (real clients' does). Lateness outside
  // what the jitter explains says it did not: then this arrival is the reference, and the whole
  // delay is kept for the packets after it (a delay that proves too long is taken back later).
  const inStep = lateness !== undefined && lateness >= 0 && lateness <= estimator.jitterMs;
  const earliest = inStep ? arrivalMs - lateness! : arrivalMs;
  estimator.startSegment();
  estimator.observe(arrivalMs, ext / 48);
  const { nextFrameIndex, nextFrameMs } = clock;
  // Before the first pull, assume it is imminent: the output clock starts with the first arrival.
  const framesAhead = Math.max(0, Math.ceil((earliest + delayMs - (nextFrameMs ?? arrivalMs)) / FRAME_MS - 1e-9));
  return { anchor: { ext, frame: nextFrameIndex + framesAhead }, delayMs };
}

/**
 * How long after its earliest possible arrival (the talkspurt's quickest transit so far) slot
 * `slot` plays in the frame about to be pulled; undefined before the output clock is known.
 */
export function slotDelayMs(estimator: JitterEstimator, clock: PlayoutClock, anchor: TalkspurtAnchor, slot: number): number | undefined {
  const { nextFrameIndex, nextFrameMs } = clock;
  const minTransit = estimator.minTransitMs;
  if (nextFrameMs === undefined || minTransit === undefined) return undefined;
  const playAt = nextFrameMs + (anchor.frame + slot - nextFrameIndex) * FRAME_MS;
  return playAt - ((anchor.ext + slot * FRAME_TICKS) / 48 + minTransit);
}
