// ESM face of sodium-native for @discordjs/voice (see sodiumCompat.mjs). If sodium-native is not
// installed this import throws, and @discordjs/voice moves on to the next encryption library.
import { createRequire } from 'node:module';

const sodium = createRequire(import.meta.url)('sodium-native');

export default sodium;
export const crypto_aead_xchacha20poly1305_ietf_ABYTES = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES;
export const crypto_aead_xchacha20poly1305_ietf_encrypt = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt;
export const crypto_aead_xchacha20poly1305_ietf_decrypt = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt;
