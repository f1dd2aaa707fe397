/**
 * `npm run db:copy -- [--from FILE.sqlite] [--to postgres://…] [--replace]`: copies the bot's SQLite
 * database (settings, usage, budgets) into PostgreSQL, for moving a bot to shared storage. The source
 * defaults to DATABASE_PATH (or data/bot.sqlite) and the target to DATABASE_URL, from the environment
 * or .env. Stop the bot first (the copy is a snapshot), then start it with DATABASE_URL set.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../src/log.ts';
import { copySqliteToPostgres, CopyError } from '../src/store/copy.ts';

const USAGE = 'usage: npm run db:copy -- [--from data/bot.sqlite] [--to postgres://user:password@host:5432/db] [--replace]';

let values;
try {
  ({ values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, replace: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } }));
} catch (error) {
  console.error(`error: ${(error as Error).message}\n${USAGE}`);
  process.exit(64);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const from = values.from ?? process.env.DATABASE_PATH?.trim() ?? 'data/bot.sqlite';
const to = values.to ?? process.env.DATABASE_URL?.trim();
if (!to || !/^postgres(ql)?:\/\/\S+$/.test(to)) {
  console.error(`error: give the PostgreSQL database with --to postgres://… or DATABASE_URL\n${USAGE}`);
  process.exit(64);
}
/** Where the copy goes, for people: host and database, never the password. */
const where = (() => {
  try {
    const url = new URL(to);
    return `${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  } catch {
    return 'the PostgreSQL database';
  }
})();

try {
  // Problems of the PostgreSQL pool go to stderr (warnings and worse); the report goes to stdout. The URL's password is scrubbed.
  const logger = createLogger({ level: 'warn', destination: process.stderr, name: 'db:copy', secrets: [to] });
  const report = await copySqliteToPostgres({ sqlitePath: from, postgresUrl: to, replace: values.replace, logger });
  console.log(`Copied ${from} (schema ${report.sourceVersion}) into ${where}:`);
  for (const [table, rows] of Object.entries(report.tables)) console.log(`  ${table}: ${rows} rows`);
  console.log(`  total cost recorded: $${report.costUsd.target.toFixed(4)} (matches the source)`);
  console.log('Now start the bot with DATABASE_URL set to that database.');
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  // A driver error may quote the URL; the password never reaches the terminal.
  const password = (() => {
    try {
      return decodeURIComponent(new URL(to).password);
    } catch {
      return '';
    }
  })();
  console.error(`error: ${password ? message.replaceAll(password, '***') : message}${error instanceof CopyError ? '' : ` (copying into ${where})`}`);
  process.exit(1);
}
