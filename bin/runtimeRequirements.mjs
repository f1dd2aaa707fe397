// Plain JavaScript on purpose: this file must load on any Node (even 20) so that an unsupported runtime
// gets a clear sentence instead of "Unknown file extension .ts" or a DAVE close code from Discord.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Oldest Node that @discordjs/voice 0.19 supports (its `engines`). */
export const MIN_NODE = '22.12.0';
/** Oldest @discordjs/voice with working DAVE receive (0.19.2 fixed the decrypt loops of #11419). */
export const MIN_VOICE = '0.19.2';

/** Compares dotted numeric versions; ignores pre-release suffixes. */
export function compareVersions(a, b) {
  const pa = String(a).replace(/^v/, '').split(/[.-]/).map((n) => Number.parseInt(n, 10) || 0);
  const pb = String(b).replace(/^v/, '').split(/[.-]/).map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** Finds the installed @discordjs/voice version, or null when it is not installed. */
export function installedVoiceVersion(fromUrl = import.meta.url) {
  try {
    const require = createRequire(fromUrl);
    let dir = dirname(require.resolve('@discordjs/voice'));
    for (let i = 0; i < 5; i++) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        if (pkg.name === '@discordjs/voice') return pkg.version;
      } catch {
        // keep walking up
      }
      dir = dirname(dir);
    }
  } catch {
    return null;
  }
  return null;
}

/**
 * Lists what is wrong with a runtime, as sentences a user can act on; empty when all is well.
 * @param {{ nodeVersion: string, voiceVersion: string | null }} runtime
 * @returns {string[]}
 */
export function runtimeProblems({ nodeVersion, voiceVersion }) {
  const problems = [];
  if (compareVersions(nodeVersion, MIN_NODE) < 0) {
    problems.push(
      `Node ${nodeVersion} is too old: this bot needs Node >= ${MIN_NODE} (required by @discordjs/voice ${MIN_VOICE}, ` +
        `which implements Discord's mandatory DAVE encryption). Run it through npm (npm start / npm run demo), ` +
        `which uses the Node 22 the project installs, or install Node 22.`,
    );
  }
  if (voiceVersion === null) {
    problems.push('@discordjs/voice is not installed: run `npm ci` (or `npm install`) first.');
  } else if (compareVersions(voiceVersion, MIN_VOICE) < 0) {
    problems.push(
      `@discordjs/voice ${voiceVersion} is too old: Discord requires DAVE end-to-end encryption since March 2026 and ` +
        `closes older clients with code 4017. Install @discordjs/voice >= ${MIN_VOICE} (npm ci restores the locked version).`,
    );
  }
  return problems;
}
