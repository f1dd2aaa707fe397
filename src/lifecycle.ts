/**
 * How the bot process relates to what started it: the sharding manager's environment variables and
 * the npm process it runs under. Used by the process entry (main.ts) only.
 */

/**
 * discord.js's `Client` reads `SHARDS` and `SHARD_COUNT` from the environment when its options leave
 * them at their defaults (`shardCount: 1` cannot be told apart from "not set"), so a `SHARD_COUNT=auto`
 * meant for `npm run start:sharded` (it is in `.env.example`) would crash `npm start` with
 * "The shardCount option must be a number". Only the sharding manager may hand them to a client: it
 * sets `SHARDING_MANAGER` with them in each shard's environment. Returns the names it removed.
 */
export function keepShardVariablesForTheManager(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.SHARDING_MANAGER) return [];
  const removed = ['SHARDS', 'SHARD_COUNT'].filter((name) => name in env);
  for (const name of removed) delete env[name];
  return removed;
}

/** How often {@link watchParent} looks at the parent process. */
const PARENT_CHECK_MS = 1_000;

/**
 * Calls `onOrphaned` once if the process that started this one goes away (its parent id changes).
 * Only under npm (`npm_lifecycle_event` set): npm forwards SIGTERM and SIGINT, but a process manager
 * that kills npm with SIGKILL would otherwise leave the bot running, still logged in, and a restart
 * would then run two bots on one token. Started any other way (systemd, Docker, `nohup node …`), the
 * parent may legitimately go away and nothing is watched. Returns a function that stops watching.
 */
export function watchParent(onOrphaned: () => void, env: NodeJS.ProcessEnv = process.env): () => void {
  if (!env.npm_lifecycle_event) return () => undefined;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onOrphaned();
  }, PARENT_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
