import module from 'node:module';

let installed = false;

/**
 * Works around an incompatibility between @discordjs/voice 0.19.2 and sodium-native 5: the library
 * loads its xchacha20 backend with `await import('sodium-native')` and reads
 * `crypto_aead_xchacha20poly1305_ietf_ABYTES` from the namespace, which Node does not expose for that
 * CommonJS module, so every aead_xchacha20_poly1305_rtpsize encrypt/decrypt throws
 * `RangeError: The value of "size" is out of range … Received NaN`. This in-thread resolve hook
 * (`module.registerHooks`, Node >= 22.15) points that one import at a shim that re-exports the
 * constant. Call it before @discordjs/voice is first loaded. (AES-256-GCM, which Discord offers
 * first, is unaffected.)
 */
export function fixSodiumForDiscordVoice(): void {
  if (installed) return;
  const registerHooks = (module as unknown as { registerHooks?: (hooks: object) => void }).registerHooks;
  if (typeof registerHooks !== 'function') return;
  const shim = new URL('./sodiumShim.mjs', import.meta.url).href;
  registerHooks({
    resolve(specifier: string, context: { parentURL?: string }, nextResolve: (s: string, c: unknown) => unknown) {
      if (specifier === 'sodium-native' && context.parentURL?.includes('/@discordjs/voice/')) return { url: shim, shortCircuit: true };
      return nextResolve(specifier, context);
    },
  });
  installed = true;
}
