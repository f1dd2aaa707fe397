/**
 * The project as an operator has it, for tests that run the npm scripts the way the README says: a
 * directory of its own (its own `.env`, `data/`) whose sources are links to this checkout, and helpers
 * to see every process a command started.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers.ts';

/** What an operator's checkout needs to run the npm scripts (linked, not copied). */
const LINKED = ['package.json', 'package-lock.json', 'main.ts', 'bin', 'src', 'commands', 'scripts', 'sim', 'node_modules'];

/** A directory laid out like a checkout of the project, with its own `.env` and data. */
export interface OperatorInstall {
  dir: string;
  /** `cp .env.example .env`, then sets `values` the way an editor would (replacing `NAME=` lines, appending the others). */
  writeEnvFromExample(values: Record<string, string>): string;
  close(): void;
}

export function operatorInstall(): OperatorInstall {
  const dir = mkdtempSync(join(tmpdir(), 'voice-bot-install-'));
  for (const name of LINKED) symlinkSync(join(ROOT, name), join(dir, name));
  copyFileSync(join(ROOT, '.env.example'), join(dir, '.env.example'));
  return {
    dir,
    writeEnvFromExample(values) {
      let text = readFileSync(join(dir, '.env.example'), 'utf8');
      for (const [name, value] of Object.entries(values)) {
        const line = new RegExp(`^${name}=.*$`, 'm');
        text = line.test(text) ? text.replace(line, () => `${name}=${value}`) : `${text}${name}=${value}\n`;
      }
      writeFileSync(join(dir, '.env'), text);
      return text;
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `npm` as the operator runs it: from PATH, or the npm that runs this test (`npm test`). */
export function npmCommand(): { command: string; args: string[] } {
  const onPath = (process.env.PATH ?? '').split(':').some((entry) => {
    try {
      return readdirSync(entry).includes('npm');
    } catch {
      return false;
    }
  });
  if (onPath || !process.env.npm_execpath) return { command: 'npm', args: [] };
  return { command: process.execPath, args: [process.env.npm_execpath] };
}

/** The ids of `pid` and of every process below it, from /proc (Linux). */
export function processTree(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/PID/stat is the parent id; the command name (field 2) may contain spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process is gone
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i]!) ?? []));
  return tree;
}

/** Whether a process exists (and is not a zombie waiting for its parent). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The command line of a process, for messages. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return `(pid ${pid}, gone)`;
  }
}
