// @discordjs/voice 0.19.2 loads its xchacha20 backend with `await import('sodium-native')` and reads
// `crypto_aead_xchacha20poly1305_ietf_ABYTES` from the module namespace. sodium-native 5 builds its
// exports with `{ ...binding }`, which Node's CommonJS→ESM bridge cannot see, so the constant is
// undefined and every aead_xchacha20_poly1305_rtpsize packet fails ("size … Received NaN"). This
// resolve hook hands that one import an ESM shim with real named exports. We keep sodium-native
// rather than switching to @noble/ciphers because it is ~5× faster per packet (4.5 µs vs 22 µs for a
// 160-byte packet on the project's 2-core machine). Loaded first by bin/run.mjs and, via --import,
// by every test worker. module.registerHooks exists from Node 22.15.
import module from 'node:module';

const shimUrl = new URL('./sodiumNativeShim.mjs', import.meta.url).href;

/** Whether the hook is active (false on Node < 22.15, where xchacha20 voice encryption stays broken). */
export const sodiumCompatInstalled = typeof module.registerHooks === 'function';

if (sodiumCompatInstalled) {
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === 'sodium-native' && context.parentURL?.includes('/@discordjs/voice/')) {
        return { url: shimUrl, shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
  });
}
