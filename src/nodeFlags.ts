/**
 * V8 flags every process that runs the bot starts with: `npm start`, `npm run demo`, `npm run bench`,
 * each shard of `npm run start:sharded` and the Docker image (a test keeps them in step).
 *
 * `--max-semi-space-size=8` (MB; Node 22's default young generation is twice that). With the larger
 * default, the young generation is bigger than the headroom V8 leaves the old generation, so V8 keeps
 * starting full mark-compact collections under load — pauses of several milliseconds, each one making
 * a tick of the 20 ms clock, and so every session's packet, late. With 8 MB the load benchmark runs
 * without them (`npm run bench -- load`; figures in bench/README.md).
 */
export const BOT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
