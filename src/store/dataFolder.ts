/**
 * Before the SQLite file is opened: can this process create and write it? SQLite itself only says
 * "unable to open database file", without the path or the reason; a Docker volume or a bind-mounted
 * folder owned by root (the image runs as the unprivileged `node` user) is the usual cause.
 */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The user this process runs as, for the message ("uid 1000"), when the platform has one. */
function currentUser(): string {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  return uid === undefined ? 'this user' : `uid ${uid}${gid === undefined ? '' : `, gid ${gid}`}`;
}

/** How to fix a folder this process cannot write, in one sentence. */
function fixFor(folder: string): string {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  const owner = uid === undefined ? '' : ` (chown -R ${uid}:${gid ?? uid} ${folder})`;
  return `make it writable by the bot's user${owner}, or set DATABASE_PATH to a writable place; in Docker use a named volume (-v voice-bot-data:/app/data) or chown a bind-mounted folder to 1000:1000`;
}

/**
 * One sentence naming the path and the fix when the SQLite database at `path` cannot be created or
 * written by this process; null when it can (or for `:memory:`). Creates the folder if it is missing,
 * as opening the database would.
 */
export function databaseFolderProblem(path: string): string | null {
  if (path === ':memory:') return null;
  const file = resolve(path);
  const folder = dirname(file);
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return `cannot create the database folder ${folder} (${code}) for DATABASE_PATH=${path}: ${fixFor(folder)}`;
  }
  if (!statSync(folder).isDirectory()) return `${folder} is not a folder, so the database ${file} cannot be created there: set DATABASE_PATH to a file in a folder`;
  try {
    accessSync(folder, constants.W_OK | constants.X_OK);
  } catch {
    return `the database folder ${folder} is not writable by the bot (${currentUser()}): ${fixFor(folder)}`;
  }
  if (existsSync(file)) {
    try {
      accessSync(file, constants.R_OK | constants.W_OK);
    } catch {
      return `the database ${file} is not writable by the bot (${currentUser()}): ${fixFor(folder)}`;
    }
  }
  return null;
}
