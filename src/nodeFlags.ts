/**
 * V8 flags every process that runs the bot starts with: `npm start`, `npm run demo`, `npm run bench`,
 * each shard of `npm run start:sharded` and the Docker image (a test keeps them in step).
 *
 * `--max-semi-space-size=8` (MB; Node 22's default young generation is twice that). With the larger
 * default, the young generation is bigger than the headroom V8 leaves the old generation, so V8 keeps
 * starting full mark-compact collections under load — pauses of several milliseconds, each one making
 * a tick of the 20 ms clock, and so every session's packet, late. With 8 MB the load benchmark runs
 * without them (`npm run bench -- load`; figures in bench/README.md).
 *
 * `--v8-pool-size=1`: one V8 helper thread (Node's default is 4, whatever the machine) for concurrent
 * marking, background compilation and parallel scavenging, shared with the encoder thread's isolate.
 * On a 2-core machine four of them, with the encoder thread, took both cores from the main thread in
 * bursts: most of the load benchmark's late clock ticks were the main thread runnable but not running,
 * clustered where V8 marked or compiled. With one helper, 40 sessions with DAVE went from 0.38–2.22%
 * of frames more than 5 ms late (6 runs) to 0.02–0.96% (3 runs with the flag on the bot only) and
 * 0.01–0.49% (3 with it on the simulators too), minor collections from 3.2–4.2 to 2.2–2.7 ms, and the
 * CPU per session down ≈ 1 ms/s (bench/README.md, "Load with DAVE, session 6: V8's helper threads").
 * A machine with many cores loses little: the work the helpers do is still done, by one of them or by
 * the main thread at its next safepoint.
 */
export const BOT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--v8-pool-size=1'];
