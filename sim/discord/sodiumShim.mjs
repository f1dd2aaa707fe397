// Re-exports sodium-native with the constants @discordjs/voice reads from `await import('sodium-native')`.
// sodium-native 5 is CommonJS and Node's named-export detection misses its constants (ABYTES), so
// @discordjs/voice 0.19.2 computes `length - undefined` and cannot use aead_xchacha20_poly1305_rtpsize.
import { createRequire } from 'node:module';

const sodium = createRequire(import.meta.url)('sodium-native');
export default sodium;
export const crypto_aead_xchacha20poly1305_ietf_encrypt = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt;
export const crypto_aead_xchacha20poly1305_ietf_decrypt = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt;
export const crypto_aead_xchacha20poly1305_ietf_ABYTES = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES;
