import { createCipheriv, createDecipheriv } from 'node:crypto';
import { createRequire } from 'node:module';

/** The two transport encryption modes Discord still accepts (all xsalsa20 modes ended Nov 2024). */
export type EncryptionMode = 'aead_aes256_gcm_rtpsize' | 'aead_xchacha20_poly1305_rtpsize';
export const ENCRYPTION_MODES: readonly EncryptionMode[] = ['aead_aes256_gcm_rtpsize', 'aead_xchacha20_poly1305_rtpsize'];

/** Dynamic payload type Discord uses for Opus; @discordjs/voice drops packets with another one. */
export const RTP_OPUS_PAYLOAD_TYPE = 0x78;
const AUTH_TAG_LENGTH = 16;
/** The "rtpsize" modes append a 4-byte big-endian nonce counter after the ciphertext. */
const NONCE_SUFFIX_LENGTH = 4;

type SodiumNative = {
  crypto_aead_xchacha20poly1305_ietf_encrypt(c: Buffer, m: Buffer, ad: Buffer | null, nsec: null, npub: Buffer, k: Buffer): number;
  crypto_aead_xchacha20poly1305_ietf_decrypt(m: Buffer, nsec: null, c: Buffer, ad: Buffer | null, npub: Buffer, k: Buffer): number;
};
const sodium = createRequire(import.meta.url)('sodium-native') as SodiumNative;

/** Fields of an RTP header (RFC 3550) as Discord uses them. */
export interface RtpHeader {
  sequence: number;
  timestamp: number;
  ssrc: number;
}

/** A decrypted RTP packet: its header fields and the Opus payload (extension body and padding removed). */
export interface OpenedRtp extends RtpHeader {
  payload: Buffer;
}

/** Builds the 12-byte header: V=2, no padding/extension/CSRC, marker 0, PT 120. */
export function rtpHeader({ sequence, timestamp, ssrc }: RtpHeader): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = RTP_OPUS_PAYLOAD_TYPE;
  header.writeUInt16BE(sequence & 0xffff, 2);
  header.writeUInt32BE(timestamp >>> 0, 4);
  header.writeUInt32BE(ssrc >>> 0, 8);
  return header;
}

/** The 12- (AES-GCM) or 24-byte (XChaCha) nonce: the 4 counter bytes followed by zeros. */
function nonceFor(mode: EncryptionMode, counter: Buffer): Buffer {
  const nonce = Buffer.alloc(mode === 'aead_aes256_gcm_rtpsize' ? 12 : 24);
  counter.copy(nonce, 0, 0, 4);
  return nonce;
}

function seal(mode: EncryptionMode, key: Buffer, aad: Buffer, plain: Buffer, counter: Buffer): Buffer {
  const nonce = nonceFor(mode, counter);
  if (mode === 'aead_aes256_gcm_rtpsize') {
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(aad);
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  }
  const out = Buffer.alloc(plain.length + AUTH_TAG_LENGTH);
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out, plain, aad, null, nonce, key);
  return out;
}

/**
 * Encrypts an Opus frame into a complete RTP packet: header (the AAD) ‖ ciphertext ‖ tag ‖ counter.
 * The receiver in @discordjs/voice 0.19.2 treats ciphertext starting `BE DE` as a header extension
 * (it compares bytes 12–13 even when the X bit is clear), so such a ciphertext is re-sealed with the
 * next counter; `nextCounter` is called for each attempt.
 */
export function sealRtp(mode: EncryptionMode, key: Buffer, header: RtpHeader, opus: Buffer, nextCounter: () => number): Buffer {
  const aad = rtpHeader(header);
  for (;;) {
    const counter = Buffer.alloc(NONCE_SUFFIX_LENGTH);
    counter.writeUInt32BE(nextCounter() >>> 0, 0);
    const sealed = seal(mode, key, aad, opus, counter);
    if (sealed[0] === 0xbe && sealed[1] === 0xde) continue;
    return Buffer.concat([aad, sealed, counter]);
  }
}

/**
 * Decrypts an RTP packet sent by a client. Returns null if it is not RTP/Opus or fails
 * authentication. Header size is 12 + 4 × CSRC count (+4 when the X bit is set: in the rtpsize
 * modes the extension's 4-byte preamble is part of the clear header and its body is encrypted).
 */
export function openRtp(mode: EncryptionMode, key: Buffer, packet: Buffer): OpenedRtp | null {
  if (packet.length < 12 + AUTH_TAG_LENGTH + NONCE_SUFFIX_LENGTH) return null;
  if (packet[0]! >> 6 !== 2 || (packet[1]! & 0x7f) !== RTP_OPUS_PAYLOAD_TYPE) return null;
  const csrcCount = packet[0]! & 0x0f;
  const hasExtension = (packet[0]! & 0x10) !== 0;
  const headerLength = 12 + 4 * csrcCount + (hasExtension ? 4 : 0);
  const counter = packet.subarray(packet.length - NONCE_SUFFIX_LENGTH);
  const tagEnd = packet.length - NONCE_SUFFIX_LENGTH;
  const aad = packet.subarray(0, headerLength);
  const cipherText = packet.subarray(headerLength, tagEnd - AUTH_TAG_LENGTH);
  const tag = packet.subarray(tagEnd - AUTH_TAG_LENGTH, tagEnd);
  const nonce = nonceFor(mode, counter);
  let plain: Buffer;
  try {
    if (mode === 'aead_aes256_gcm_rtpsize') {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce);
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      plain = Buffer.concat([decipher.update(cipherText), decipher.final()]);
    } else {
      plain = Buffer.alloc(cipherText.length);
      sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(plain, null, packet.subarray(headerLength, tagEnd), aad, nonce, key);
    }
  } catch {
    return null;
  }
  if (hasExtension) {
    const extensionWords = packet.readUInt16BE(headerLength - 2);
    plain = plain.subarray(4 * extensionWords);
  }
  if ((packet[0]! & 0x20) !== 0 && plain.length > 0) {
    const padding = plain[plain.length - 1]!;
    if (padding <= plain.length) plain = plain.subarray(0, plain.length - padding);
  }
  return {
    sequence: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    payload: plain,
  };
}
