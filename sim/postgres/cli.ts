/**
 * `npm run sim:postgres`: a throw-away PostgreSQL server (see cluster.ts) for tests and trials. Prints
 * one JSON line `{"url", "port", "version"}` on stdout, then serves until SIGINT/SIGTERM, when it stops
 * the server and deletes the cluster. `.ci/run` uses it to give the tests TEST_DATABASE_URL.
 */
import { PostgresUnavailableError, startThrowawayPostgres } from './cluster.ts';

let server;
try {
  server = await startThrowawayPostgres();
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(error instanceof PostgresUnavailableError ? 69 : 1); // EX_UNAVAILABLE
}
const running = server;
console.log(JSON.stringify({ url: running.url, port: running.port, version: running.version }));
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await running.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
