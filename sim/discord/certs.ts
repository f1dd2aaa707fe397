import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import tls from 'node:tls';

/**
 * Test-only TLS material for the local voice endpoint. `@discordjs/voice` connects to
 * `wss://${endpoint}?v=8` with no TLS options, so the voice WebSocket must be TLS and its
 * certificate must chain to a CA the process trusts.
 */
export const CA_PATH = fileURLToPath(new URL('./certs/ca.pem', import.meta.url));
export const SERVER_CERT_PATH = fileURLToPath(new URL('./certs/server.pem', import.meta.url));
export const SERVER_KEY_PATH = fileURLToPath(new URL('./certs/server.key', import.meta.url));

/** Certificate and key of the 127.0.0.1 voice endpoint (signed by the test CA). */
export function serverCredentials(): { cert: string; key: string } {
  return { cert: readFileSync(SERVER_CERT_PATH, 'utf8'), key: readFileSync(SERVER_KEY_PATH, 'utf8') };
}

let trusted = false;

/**
 * Makes this process trust the simulator's test CA for every later TLS connection (including the
 * one `@discordjs/voice` opens), by adding it to Node's default CA list with
 * `tls.setDefaultCACertificates` (Node >= 22.19). Child processes use `NODE_EXTRA_CA_CERTS=<CA_PATH>`.
 */
export function trustSimulatorCertificate(): void {
  if (trusted) return;
  const setDefault = (tls as unknown as { setDefaultCACertificates?: (certs: string[]) => void }).setDefaultCACertificates;
  if (typeof setDefault !== 'function') {
    throw new Error(`this Node has no tls.setDefaultCACertificates; start it with NODE_EXTRA_CA_CERTS=${CA_PATH}`);
  }
  setDefault([...tls.getCACertificates('default'), readFileSync(CA_PATH, 'utf8')]);
  trusted = true;
}
