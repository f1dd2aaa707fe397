/**
 * Fresh Int16Arrays for the per-frame outputs of the hot paths (the Downsampler's mono frames and
 * the mixer's output frames), carved from shared 32 KiB ArrayBuffers instead of one allocation each.
 *
 * Why: every `new Int16Array(480)` is an off-heap ArrayBuffer (V8 keeps only ≤ 64-byte typed arrays
 * on its heap), and allocating those at frame rate is an order of magnitude dearer than a view into a
 * pooled buffer (external-memory accounting drives extra GC; figures in bench/README.md). Node's own
 * Buffer pool does the same for small Buffers.
 *
 * Each array is still new, zero-filled and shares memory with no other array handed out (slabs are
 * never reused, only dropped when full); what differs is that `array.buffer` is the shared slab, so
 * code that wraps the memory must use `byteOffset`/`byteLength` (as `samplesToPcmBuffer` does). A
 * slab lives as long as any array carved from it (at most 32 KiB per array kept, 34 frames a slab).
 *
 * @module
 */

const SLAB_BYTES = 32 * 1024;
/** Larger requests get their own buffer: pooling them would waste most of a slab. */
const MAX_POOLED_BYTES = SLAB_BYTES / 8;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** A new zero-filled Int16Array of `length` samples (possibly a view into a shared buffer). */
export function newPcm16(length: number): Int16Array {
  const bytes = length * 2;
  if (bytes > MAX_POOLED_BYTES) return new Int16Array(length);
  if (used + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const array = new Int16Array(slab, used, length);
  used += (bytes + 7) & ~7; // keep views 8-byte aligned
  return array;
}
