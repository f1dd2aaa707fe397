/**
 * Load benchmark: N concurrent voice sessions in ONE bot process — one bot (one discord.js client,
 * one SQLite store) in N guilds of the local Discord, as a bot is deployed. The simulators (the local
 * Discord and the realtime simulator) run in a CHILD process (bench/loadSims.ts), so this process
 * measures the bot alone; they stand in for remote services, so the child runs at a lower CPU
 * priority (nice 10): on 2 cores their own load (reported) must not be what makes our packets late.
 *
 * In every guild one member talks (3 turns of 1.5 s) while the bot answers (2 s replies) and another
 * member listens. For each N: output frames more than 5 ms late (VoicePlayback stats), input frames
 * dropped (mixer late/overflow) and decoded vs. sent, CPU and RSS per session. Reports the largest N
 * with ≤ 1% late output frames and no dropped input frame. Everything runs with DAVE end-to-end
 * encryption, as on Discord (members are MLS members, the bot decrypts and encrypts every frame);
 * then one size (LOAD_DAVE_COMPARE, default 40) runs again without DAVE, for its CPU cost per session.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { getPriority, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { trustSimulatorCertificate } from '../sim/discord/index.ts';
import { commands } from '../commands/index.ts';
import { tools } from '../tools/index.ts';
import { createBot, type Bot } from '../src/bot.ts';
import { loadConfig } from '../src/config.ts';
import { deployCommands } from '../src/discord/deployCommands.ts';
import { silentLogger } from '../src/log.ts';
import type { BenchModule, BenchRow, Report } from './harness.ts';
import { correlateLateDrops, traceLateDrops } from './loadDropTrace.ts';
import { watchEventLoop } from './loopDiagnostics.ts';

interface Ready {
  /** Null when the realtime simulator runs in its own child (bench/loadRealtime.ts). */
  realtime: { url: string; apiKey: string } | null;
  discord: { rest: string; token: string; applicationId: string };
  guildIds: string[];
}

/** What the simulators' child answers to `talk` (bench/loadSims.ts). */
interface Talked {
  framesSent: number;
  heardPackets: number;
  spacingOver25ms: number;
  spacingP99Ms: number | null;
  simulatorCpuPctOfOneCore: number;
  simulatorLoopDelayP99Ms: number;
  simulatorLoopDelayMaxMs: number;
  memberSendLate: { packets: number; p50Ms: number | null; p99Ms: number | null; maxMs: number | null; over20ms: number; over40ms: number; over60ms: number };
  sendLateByTimestamp: [number, number][];
}

/** A full collection on demand (the flag can be set at run time; the function comes from a fresh context). */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Live JS heap + memory held outside it (Buffers, ArrayBuffers), after a full collection. */
function liveMemory(): number {
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

/**
 * `LOAD_ALLOCATION_PROFILE=path`: V8's sampling heap profiler over the talk phase, counting objects
 * already collected too (what makes scavenges is garbage), written to `path.dave.heapprofile` (open in
 * Chrome DevTools, or sum `selfSize` by call frame). Slows the run: its timing figures do not count.
 */
async function startAllocationSampling(): Promise<{ stop(path: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))));
  await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return {
    async stop(path) {
      const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: unknown };
      writeFileSync(path, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/** CPU priority of the simulators' process (0 = same as the bot). */
const SIMULATOR_NICE = Number(process.env.LOAD_SIMULATOR_NICE ?? 10);
/**
 * `shared` (default): the realtime simulator runs in the local Discord's child; `own`: in a child of
 * its own (bench/loadRealtime.ts), so its replies are not made on the loop that sends the members'
 * packets. Tried to take that jitter out; it did not (2 runs: members' sends p99 139–145 ms late vs 94
 * shared, 175–328 input frames dropped vs 206; bench/README.md): the simulators' loop is late by itself.
 */
const REALTIME_PROCESS = process.env.LOAD_REALTIME_PROCESS === 'own' ? 'own' : 'shared';

/**
 * What the simulated members do on the simulators' loop (bench/loadSims.ts): `prepared` (default) —
 * each utterance's Opus encoded before the clock starts and listeners keeping packets only, as real
 * members encode and decode on their own machines; `encode-live` (LOAD_SIM_NETWORK=encode-live) —
 * Opus encoded frame by frame as packets are sent and every listener decoding, as before session 5.
 * With `prepared`, members' packets also leave from the simulator's transmit thread
 * (`DiscordSimulator.startTransmitThread`), prepared ahead (`SEND_AHEAD_MS` in bench/loadSims.ts).
 */
const SIM_NETWORK = process.env.LOAD_SIM_NETWORK === 'encode-live' ? 'encode-live' : 'prepared';

function request<T>(child: ChildProcess, message: unknown, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not answer ${JSON.stringify(message)}`)), timeoutMs);
    const onMessage = (reply: { type: string; message?: string }) => {
      if (reply.type !== type && reply.type !== 'error') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      if (reply.type === 'error') reject(new Error(reply.message));
      else resolve(reply as T);
    };
    child.on('message', onMessage);
    if (message !== null) child.send(message as never);
  });
}

async function runLoad(n: number, dave = true): Promise<BenchRow & { ok: boolean }> {
  trustSimulatorCertificate();
  // LOAD_SIMS_CPU_PROF=dir: a CPU profile of the simulators' child (its own, not the bot's) written to dir.
  // LOAD_SIMS_NODE_FLAGS='--flag …': more Node/V8 flags for that child only (e.g. --perf-basic-prof for
  // `perf record`, whose samples are CPU time: the V8 profile's are wall time of a niced thread, so a
  // call that wakes the bot, preempting the child, is charged its wait).
  const simsProfile = [
    ...(process.env.LOAD_SIMS_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LOAD_SIMS_CPU_PROF}`] : []),
    ...(process.env.LOAD_SIMS_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? []),
  ];
  const execArgv = process.execArgv.filter((flag) => !flag.startsWith('--cpu-prof'));
  const simArgs = [join(import.meta.dirname, 'loadSims.ts'), String(n), dave ? 'dave' : 'no-dave', ...(REALTIME_PROCESS === 'shared' ? ['shared-realtime'] : [])];
  const child = fork(join(import.meta.dirname, '..', 'bin', 'run.mjs'), simArgs, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [...execArgv, ...simsProfile], env: { ...process.env, LOAD_SIMULATOR_NICE_SELF: SIM_NETWORK === 'prepared' ? String(SIMULATOR_NICE) : '0' } });
  const realtimeChild = REALTIME_PROCESS === 'own' ? fork(join(import.meta.dirname, '..', 'bin', 'run.mjs'), [join(import.meta.dirname, 'loadRealtime.ts')], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv }) : null;
  // Listening at once: a child's message with no listener yet is lost.
  const realtimeReady = realtimeChild ? request<{ url: string; apiKey: string }>(realtimeChild, null, 'ready', 60_000) : null;
  realtimeReady?.catch(() => undefined); // awaited below; a failure then is thrown there
  // With the transmit thread (prepared), the simulators' child lowers its own loop's priority once the
  // thread runs (bench/loadSims.ts); otherwise the whole child is lowered from here, as before.
  for (const pid of [SIM_NETWORK === 'prepared' ? undefined : child.pid, realtimeChild?.pid]) {
    try {
      if (pid) setPriority(pid, SIMULATOR_NICE);
    } catch {
      // not allowed to change priority here: run at the same priority and say so in the row
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'voice-load-'));
  let bot: Bot | null = null;
  try {
    const ready = await request<Ready>(child, null, 'ready', 60_000);
    const { discord } = ready;
    const realtime = ready.realtime ?? (await realtimeReady!);
    const config = loadConfig(
      {
        DISCORD_TOKEN: discord.token,
        DISCORD_APPLICATION_ID: discord.applicationId,
        DISCORD_API_URL: discord.rest,
        REALTIME_PROVIDER: 'custom',
        REALTIME_URL: realtime.url,
        REALTIME_DIALECT: 'ga',
        REALTIME_MODEL: 'gpt-realtime',
        REALTIME_API_KEY: realtime.apiKey,
        DATABASE_PATH: join(dir, 'bot.sqlite'),
        LOG_LEVEL: 'silent',
        // Every turn answered: in 'auto' (the default) a bot in a channel with two humans waits for its name.
        VOICE_ADDRESSING: 'always',
      },
      { requireDiscord: true, requireRealtimeKey: true },
    );
    // Global commands: the bot serves every guild, as in production.
    await deployCommands({ token: discord.token, applicationId: discord.applicationId, api: discord.rest }, commands);
    bot = createBot(config, silentLogger, { commands, tools, gcPacing: process.env.LOAD_GC_PACING !== '0' });
    await bot.start();
    const running = bot;
    const memoryBase = liveMemory(); // the bot in N guilds, before any voice session
    await request(child, { cmd: 'join' }, 'joined', 120_000);
    const sessions = () => ready.guildIds.map((guildId) => running.context.sessions.voiceSession(guildId)!);
    for (let i = 0; i < 100 && sessions().some((s) => s?.status !== 'ready'); i++) await sleep(100);
    if (sessions().some((s) => s?.status !== 'ready')) throw new Error('not every voice session became ready');
    // With DAVE, measure once every bot is in its channel's MLS group (as it is within ms on Discord).
    for (let i = 0; i < 100 && dave && sessions().some((s) => !s.receiveHealth.groupReady); i++) await sleep(100);
    if (dave && sessions().some((s) => !s.receiveHealth.groupReady)) throw new Error('not every voice session joined its DAVE group');
    const before = sessions().map((s) => ({ ...s.playbackStats }));
    const rssBefore = process.memoryUsage().rss;
    const allocations = process.env.LOAD_ALLOCATION_PROFILE ? await startAllocationSampling() : null;
    const loop = watchEventLoop(running.clock);
    const realtimeCpu = async () => (realtimeChild ? (await request<{ ms: number }>(realtimeChild, { cmd: 'cpu' }, 'cpu', 10_000)).ms : 0);
    const realtimeCpuBefore = await realtimeCpu();
    const lateDrops = traceLateDrops();
    const cpuBefore = process.cpuUsage();
    const t0 = performance.now();
    const talked = await request<Talked>(child, { cmd: 'talk', turns: 3, seconds: 1.5 }, 'talked', 180_000);
    const wallMs = performance.now() - t0;
    lateDrops.stop();
    const realtimeCpuMs = (await realtimeCpu()) - realtimeCpuBefore;
    const loopFigures = loop.stop();
    if (allocations) await allocations.stop(`${process.env.LOAD_ALLOCATION_PROFILE}.${dave ? 'dave' : 'no-dave'}.heapprofile`);
    const cpu = process.cpuUsage(cpuBefore);
    const rss = process.memoryUsage().rss;
    const memoryWithSessions = liveMemory(); // every session still connected
    let framesSent = 0;
    let framesLate = 0;
    let inputReceived = 0;
    let inputDropped = 0;
    let inputLate = 0;
    let inputOverflow = 0;
    let daveDropped = 0;
    for (const [i, session] of sessions().entries()) {
      daveDropped += session.receiveHealth.framesDroppedUndecrypted + session.receiveHealth.framesUndecryptable;
      framesSent += session.playbackStats.framesSent - before[i]!.framesSent;
      framesLate += session.playbackStats.framesLate - before[i]!.framesLate;
      for (const speaker of Object.values(session.mixerStats.speakers)) {
        inputReceived += speaker.received;
        inputDropped += speaker.late + speaker.overflow;
        inputLate += speaker.late;
        inputOverflow += speaker.overflow;
      }
    }
    const lateFraction = framesSent > 0 ? framesLate / framesSent : 1;
    const ok = framesSent > 0 && lateFraction <= 0.01 && inputDropped === 0 && inputReceived >= talked.framesSent;
    return {
      name: 'load_sessions',
      value: n,
      unit: 'sessions',
      ok,
      dave,
      dave_frames_dropped: daveDropped,
      output_frames_sent: framesSent,
      output_frames_late_5ms: framesLate,
      output_late_pct: Math.round(lateFraction * 10_000) / 100,
      listener_packets_heard: talked.heardPackets,
      listener_spacing_over_25ms: talked.spacingOver25ms,
      listener_spacing_p99_ms: talked.spacingP99Ms === null ? null : Math.round(talked.spacingP99Ms * 10) / 10,
      input_frames_sent_by_members: talked.framesSent,
      input_frames_decoded: inputReceived,
      input_frames_dropped: inputDropped,
      // Of those: arrived after their playout time had passed (the jitter buffer had concealed them), or beyond its bound.
      input_frames_late: inputLate,
      input_frames_overflow: inputOverflow,
      cpu_ms_per_session_per_s: Math.round(((cpu.user + cpu.system) / 1000 / n / (wallMs / 1000)) * 10) / 10,
      cpu_pct_of_one_core: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 1000) / 10,
      simulators_cpu_pct_of_one_core: talked.simulatorCpuPctOfOneCore,
      // The simulators' timers (members' packets leave on them) running late: jitter of the simulated network.
      simulators_event_loop_delay_p99_ms: talked.simulatorLoopDelayP99Ms,
      simulators_event_loop_delay_max_ms: talked.simulatorLoopDelayMaxMs,
      // How late the members' packets left the simulator against their capture schedule (ms; counts of packets).
      member_send_late_p50_ms: talked.memberSendLate.p50Ms,
      member_send_late_p99_ms: talked.memberSendLate.p99Ms,
      member_send_late_max_ms: talked.memberSendLate.maxMs,
      member_packets_sent_over_20ms_late: talked.memberSendLate.over20ms,
      member_packets_sent_over_40ms_late: talked.memberSendLate.over40ms,
      member_packets_sent_over_60ms_late: talked.memberSendLate.over60ms,
      ...correlateLateDrops(lateDrops.drops, talked.sendLateByTimestamp),
      realtime_simulator: REALTIME_PROCESS === 'own' ? `own child process, ${Math.round((realtimeCpuMs / wallMs) * 1000) / 10}% of a core` : 'in the simulators child',
      // Heap + external after a full GC, with every session connected vs. the bot before any join. In a
      // sweep, what earlier sizes left behind can still be freed during a later size: read it from a
      // single-size run (LOAD_SIZES=40).
      memory_mb_per_session: Math.round(((memoryWithSessions - memoryBase) / n / 1048576) * 100) / 100,
      rss_total_mb: Math.round((rss / 1048576) * 10) / 10,
      rss_growth_mb: Math.round(((rss - rssBefore) / 1048576) * 10) / 10,
      ...loopFigures,
      // What the machine did besides this bot and its simulators (other people's work on the same cores).
      other_processes_cpu_pct_of_one_core:
        typeof loopFigures.machine_cpu_pct_of_one_core === 'number'
          ? Math.max(0, Math.round((loopFigures.machine_cpu_pct_of_one_core - (cpu.user + cpu.system) / 10 / wallMs - talked.simulatorCpuPctOfOneCore - (realtimeCpuMs / wallMs) * 100) * 10) / 10)
          : null,
      simulators: `child process, nice ${getPriority(child.pid!)}`,
      simulated_network: SIM_NETWORK === 'prepared' ? 'prepared: Opus encoded before the clock, listeners keep packets, members sent from a transmit thread (nice 0)' : 'encode-live: as before session 5',
    };
  } finally {
    await bot?.stop().catch(() => undefined);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send({ cmd: 'close' });
    await Promise.race([exited, sleep(10_000)]);
    child.kill();
    if (realtimeChild) {
      const realtimeExited = new Promise((resolve) => realtimeChild.once('exit', resolve));
      realtimeChild.send({ cmd: 'close' });
      await Promise.race([realtimeExited, sleep(10_000)]);
      realtimeChild.kill();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

export const loadBenchmarks: BenchModule = {
  name: 'load',
  async run(report: Report) {
    const sizes = (process.env.LOAD_SIZES ?? '10,20,30,40,50,60').split(',').map(Number);
    const budgetMs = Number(process.env.LOAD_BUDGET_MS ?? 300_000);
    const started = performance.now();
    let best = 0;
    let bestRow: BenchRow | null = null;
    let failures = 0;
    const compared = new Map<number, BenchRow>();
    for (const n of sizes) {
      if (performance.now() - started > budgetMs * 0.6) break; // keep within the time budget
      let row: BenchRow & { ok: boolean };
      try {
        row = await runLoad(n);
      } catch (error) {
        report({ name: 'load_sessions', value: n, unit: 'sessions', ok: false, error: error instanceof Error ? error.message : String(error) });
        break;
      }
      report(row);
      compared.set(n, row);
      if (row.ok && failures === 0) {
        best = n; // the largest N with every smaller N tried also within the limits
        bestRow = row;
      } else if (!row.ok && ++failures >= 2) {
        break; // two sizes in a row over the limits: larger ones will not pass
      }
    }
    report({
      name: 'load_max_sessions',
      value: best,
      unit: 'sessions',
      criteria: '<=1% output frames >5 ms late, 0 input frames dropped, all member frames decoded',
      cpu_ms_per_session_per_s: bestRow?.cpu_ms_per_session_per_s ?? null,
      memory_mb_per_session: bestRow?.memory_mb_per_session ?? null,
      simulators: `child process (bench/loadSims.ts) at nice ${SIMULATOR_NICE}; the measured process runs only the bot`,
      note: 'one bot (one discord.js client) in N guilds, one voice session per guild, DAVE on',
    });
    // What DAVE costs: the same load without end-to-end encryption (reference only: Discord requires DAVE).
    const compareN = Number(process.env.LOAD_DAVE_COMPARE ?? 40);
    if (compareN > 0 && performance.now() - started < budgetMs) {
      try {
        const withDave = compared.get(compareN) ?? (await runLoad(compareN));
        const without = await runLoad(compareN, false);
        report(without);
        const on = Number(withDave.cpu_ms_per_session_per_s);
        const off = Number(without.cpu_ms_per_session_per_s);
        report({
          name: 'load_dave_cpu_cost',
          value: Math.round((on - off) * 10) / 10,
          unit: 'ms CPU per session per s',
          sessions: compareN,
          cpu_ms_per_session_per_s_dave: on,
          cpu_ms_per_session_per_s_no_dave: off,
          late_pct_dave: withDave.output_late_pct,
          late_pct_no_dave: without.output_late_pct,
        });
      } catch (error) {
        report({ name: 'load_dave_cpu_cost', value: Number.NaN, unit: 'ms CPU per session per s', error: error instanceof Error ? error.message : String(error) });
      }
    }
  },
};
