/**
 * A throw-away PostgreSQL server: a real `postgres` (not a simulator) in a fresh cluster made by
 * `initdb` in a temporary directory, listening on a free port of 127.0.0.1 (and a socket in its data
 * directory), stopped and deleted by `close()`. Used by the store tests, `.ci/run`
 * (`npm run sim:postgres`) and `npm run bench`.
 *
 * Settings trade durability for speed (fsync off): never point anything valuable at it.
 * PostgreSQL refuses to run as root, so under root the server runs as the `postgres` user (made by
 * Debian's package) or, failing that, `nobody`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Prefix of the clusters' directories in the temporary directory (orphans are found by it). */
const DIR_PREFIX = 'voicebot-pg-';
const START_TIMEOUT_MS = 30_000;

/** A running throw-away server. */
export interface ThrowawayPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication, superuser). */
  url: string;
  port: number;
  dataDir: string;
  /** Major version of the server binaries. */
  version: string;
  /** A URL of the same server for another database name. */
  urlFor(database: string): string;
  /** Stops the server (fast shutdown) and deletes the cluster. Safe to call twice. */
  close(): Promise<void>;
}

/** Thrown when no PostgreSQL server binaries can be found. */
export class PostgresUnavailableError extends Error {
  override name = 'PostgresUnavailableError';
}

/**
 * The directory with `initdb` and `postgres`: `PG_BIN` if set, else the newest
 * `/usr/lib/postgresql/N/bin` (Debian's layout), else `pg_config --bindir`, else the PATH.
 */
export function findPostgresBin(env: NodeJS.ProcessEnv = process.env): string {
  const candidates: string[] = [];
  if (env.PG_BIN) candidates.push(env.PG_BIN);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => join(debian, version, 'bin')));
  }
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (pgConfig.status === 0) candidates.push(pgConfig.stdout.trim());
  for (const dir of (env.PATH ?? '').split(':')) if (dir) candidates.push(dir);
  const found = candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')));
  if (!found) {
    throw new PostgresUnavailableError(
      'PostgreSQL server binaries (initdb, postgres) not found: install them (Debian: apt-get install -y postgresql), ' +
        'set PG_BIN to their directory, or point TEST_DATABASE_URL at a server',
    );
  }
  return found;
}

/** Starts a throw-away server. Rejects with {@link PostgresUnavailableError} when there are no binaries. */
export async function startThrowawayPostgres(options: { bin?: string } = {}): Promise<ThrowawayPostgres> {
  const bin = options.bin ?? findPostgresBin();
  reapOrphans();
  const dataDir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  writeFileSync(join(dataDir, 'owner.pid'), String(process.pid));
  const cluster = join(dataDir, 'cluster');
  const account = serverAccount();
  try {
    if (account) chownSync(dataDir, account.uid, account.gid);
    const init = spawnSync(
      join(bin, 'initdb'),
      ['-D', cluster, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      { encoding: 'utf8', ...(account ?? {}) },
    );
    if (init.status !== 0) throw new Error(`initdb failed (${init.status ?? init.signal}): ${init.stderr.trim() || init.stdout.trim()}`);
    const version = readFileSync(join(cluster, 'PG_VERSION'), 'utf8').trim();
    let lastError: Error | null = null;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      try {
        const server = await startServer(bin, cluster, port, account);
        return handle(server, dataDir, port, version);
      } catch (error) {
        lastError = error as Error;
        if (!/could not bind|address already in use/i.test(lastError.message)) break; // only a port race is worth a retry
      }
    }
    throw lastError ?? new Error('postgres did not start');
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

function handle(server: ChildProcess, dataDir: string, port: number, version: string): ThrowawayPostgres {
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  let closing: Promise<void> | null = null;
  const urlFor = (database: string) => `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    url: urlFor('postgres'),
    port,
    dataDir,
    version,
    urlFor,
    close() {
      closing ??= (async () => {
        if (server.exitCode === null && server.signalCode === null) {
          server.kill('SIGINT'); // "fast" shutdown: disconnect clients, stop at once
          const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(dataDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

function startServer(bin: string, cluster: string, port: number, account: { uid: number; gid: number } | null): Promise<ChildProcess> {
  const args = [
    '-D', cluster,
    '-p', String(port),
    '-k', cluster, // the socket stays inside the throw-away directory
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'fsync=off',
    '-c', 'synchronous_commit=off',
    '-c', 'full_page_writes=off',
    '-c', 'max_connections=200',
    '-c', 'shared_buffers=32MB',
    '-c', 'log_min_messages=warning',
  ];
  const server = spawn(join(bin, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], ...(account ?? {}) });
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => fail(new Error(`postgres did not become ready in ${START_TIMEOUT_MS} ms: ${log.trim()}`)), START_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      server.kill('SIGKILL');
      reject(error);
    };
    server.stderr!.setEncoding('utf8');
    server.stderr!.on('data', (chunk: string) => {
      log += chunk;
      if (log.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        server.stderr!.removeAllListeners('data');
        server.stderr!.resume(); // keep draining, never block the server on a full pipe
        resolve(server);
      }
    });
    server.once('error', fail);
    server.once('exit', (code, signal) => fail(new Error(`postgres exited (${code ?? signal}) while starting: ${log.trim()}`)));
  });
}

/** Under root, the account the server runs as (PostgreSQL refuses root); null otherwise. */
function serverAccount(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const passwd = existsSync('/etc/passwd') ? readFileSync('/etc/passwd', 'utf8').split('\n') : [];
  for (const name of ['postgres', 'nobody']) {
    const fields = passwd.find((line) => line.startsWith(`${name}:`))?.split(':');
    if (fields) return { uid: Number(fields[2]), gid: Number(fields[3]) };
  }
  return { uid: 65534, gid: 65534 };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Stops and deletes clusters left by processes that died without closing them (a killed test run). */
function reapOrphans(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    try {
      const owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
      if (alive(owner)) continue;
      const postmaster = join(dir, 'cluster', 'postmaster.pid');
      if (existsSync(postmaster)) {
        const pid = Number(readFileSync(postmaster, 'utf8').split('\n')[0]);
        if (alive(pid)) process.kill(pid, 'SIGQUIT'); // immediate shutdown: nothing in it is worth keeping
      }
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // another process is reaping it, or it is not ours: leave it
    }
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
