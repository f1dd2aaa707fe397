// Plain JavaScript on purpose: this file must load on any Node (even 20) so that an unsupported runtime
// gets a clear sentence instead of "Unknown file extension .ts" or a DAVE close code from Discord.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Oldest Node of each release line that runs the bot. What sets it (checked against Node's changelogs and
 * by running `bin/run.mjs src/index.ts` under 22.17.1, 22.18.0, 23.5.0 and 23.6.0):
 * - every npm script runs our `.ts` sources without a flag: type stripping is on by default from
 *   22.18.0 and 23.6.0 (22.17 and 23.5 fail with ERR_UNKNOWN_FILE_EXTENSION);
 * - `bin/sodiumCompat.mjs` needs `module.registerHooks` (22.15.0, 23.5.0);
 * - node:sqlite without a flag (22.13.0, 23.4.0); @discordjs/voice 0.19 itself asks for >= 22.12.0.
 * Node 24 and later have all of it. Keep `engines` in package.json, the Docker base image and the
 * README in step (test/startup/runtimeRequirements.test.ts and test/ops/dockerfile.test.ts check).
 */
export const MIN_NODE_BY_MAJOR = Object.freeze({ 22: '22.18.0', 23: '23.6.0' });
/** The oldest supported Node. */
export const MIN_NODE = MIN_NODE_BY_MAJOR[22];
/** The same requirement as an npm `engines.node` range. */
export const NODE_RANGE = '^22.18.0 || >=23.6.0';
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

/** Whether this Node version runs the bot (see {@link MIN_NODE_BY_MAJOR}). */
export function nodeSupported(nodeVersion) {
  const major = Number.parseInt(String(nodeVersion).replace(/^v/, ''), 10);
  if (!Number.isInteger(major) || major < 22) return false;
  const min = MIN_NODE_BY_MAJOR[major];
  return min === undefined || compareVersions(nodeVersion, min) >= 0;
}

/**
 * Lists what is wrong with a runtime, as sentences a user can act on; empty when all is well.
 * @param {{ nodeVersion: string, voiceVersion: string | null }} runtime
 * @returns {string[]}
 */
export function runtimeProblems({ nodeVersion, voiceVersion }) {
  const problems = [];
  if (!nodeSupported(nodeVersion)) {
    const major = Number.parseInt(String(nodeVersion).replace(/^v/, ''), 10);
    const needed = major === 23 ? `Node >= ${MIN_NODE} (on the 23 line: >= ${MIN_NODE_BY_MAJOR[23]})` : `Node >= ${MIN_NODE}`;
    problems.push(
      `Node ${nodeVersion} is too old: this bot needs ${needed}, which runs its TypeScript sources without a flag ` +
        `and has the module hooks it uses for @discordjs/voice ${MIN_VOICE} (Discord's mandatory DAVE encryption). ` +
        `Run it through npm (npm start / npm run demo), which uses the Node 22 the project installs, or install Node ${MIN_NODE} or later.`,
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
