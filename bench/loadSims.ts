/**
 * Child process of the load benchmark (bench/load.ts): hosts one local Discord with N guilds (one bot,
 * as in production: one client in many guilds) and one realtime simulator, so the measured process
 * runs the bot alone. Driven over IPC:
 *   → { cmd: 'join' }   every guild's Alice and Carol join voice and Alice runs /join
 *   → { cmd: 'talk', turns, seconds }  every Alice speaks `turns` utterances while the bots reply;
 *      answers with frames sent by members and what the listeners (Carol) heard: packets and
 *      arrival spacing of the bot's reply audio.
 *   → { cmd: 'close' }
 * Prints one JSON line with the simulators' addresses first. argv: N, then `dave` (default, as on
 * Discord: voice channels negotiate DAVE and members are MLS members) or `no-dave` (the reference),
 * then `shared-realtime` to host the realtime simulator here too (the layout before the realtime
 * simulator got its own child, bench/loadRealtime.ts; kept to compare).
 *
 * The simulated network does here only what Discord's servers do: relay (transport encryption both
 * ways) and each member's DAVE encryption and decryption (every member has its own key). Members'
 * Opus is encoded once per utterance before the clock starts and listeners keep packets only
 * (`hearing: 'packets'`): real members encode and decode on their own machines, so neither should
 * load this loop, whose timers send the members' packets. `LOAD_SIM_NETWORK=encode-live` restores
 * the older behaviour (frame-by-frame encoding on the send path, listeners decoding, packets sent
 * from this loop's timers) for comparison.
 */
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeOpusFrames, startDiscordSimulator } from '../sim/discord/index.ts';
import { startRealtimeSimulator } from '../sim/realtime/index.ts';
import { utterance } from '../sim/speech.ts';

const n = Number(process.argv[2] ?? 1);
const dave = process.argv[3] !== 'no-dave';
const realtime = process.argv[4] === 'shared-realtime' ? await startRealtimeSimulator({ replyAudioMs: 2_000 }) : null;
const discord = await startDiscordSimulator({ guilds: n, members: [{ name: 'Alice' }, { name: 'Carol' }], dave });
const sims = discord.guilds;
const encodeLive = process.env.LOAD_SIM_NETWORK === 'encode-live';
// Listeners keep packets only; the speakers' hearing is not simulated at all (nobody reads it: the
// figures are Carol's), so the bot's frames are DAVE-decrypted once per guild, by Carol.
if (!encodeLive) for (const sim of sims) for (const member of sim.members()) member.hearing = member.name === 'Alice' ? 'none' : 'packets';
/**
 * Members' packets are prepared this long ahead (DAVE, transport encryption) and leave from the
 * transmit thread at their time, as from a real member's machine: this loop's delays (it decrypts
 * for listeners and runs the realtime simulator at a low priority) no longer move them. 200 ms was
 * enough with each packet handed over at once: at nice 10 this loop is sometimes held 60–150 ms
 * (60 ms ahead let 33 of 9,600 packets leave > 20 ms late); 250 with the hand-over batched below.
 * The bot cannot tell: it sees the same packets at the same times.
 */
const SEND_AHEAD_MS = Number(process.env.LOAD_SEND_AHEAD_MS ?? 250);
/**
 * Packets travel to the transmit thread in batches of up to this many ms (TimedSenderOptions.batchMs):
 * one message per packet (≈ 700 a second) cost this process 130–220 µs of CPU per packet on this VM
 * (mostly waking the thread), in batches of 35 it is 16–20 µs (micro-benchmark, 2026-11-30); at 50 ms
 * it is ≈ 20 messages a second. 0: one message per turn of the loop.
 */
const TRANSMIT_BATCH_MS = Number(process.env.LOAD_TRANSMIT_BATCH_MS ?? 50);
const transmitter = encodeLive ? null : await discord.startTransmitThread({ batchMs: TRANSMIT_BATCH_MS });
// Every thread of this process but the transmit thread yields to the bot: on Linux the nice value is
// per thread, so each one (the loop, V8's and libuv's helpers) is lowered by its id, and the transmit
// thread keeps the bot's priority (its work is a sendto per packet, as the network's).
const nice = Number(process.env.LOAD_SIMULATOR_NICE_SELF ?? 0);
if (nice !== 0) {
  for (const tid of readdirSync('/proc/self/task').map(Number)) {
    if (tid !== transmitter?.threadId) setPriority(tid, nice);
  }
}

const send = (message: unknown) => process.send!(message);
/** Utterances are generated once: making speech-like audio is slow and would stall the simulators. */
const utterances = new Map<string, Int16Array>();
const cachedUtterance = (seconds: number, seed: number) => {
  const key = `${seconds}:${seed}`;
  let pcm = utterances.get(key);
  if (!pcm) utterances.set(key, (pcm = utterance(seconds, seed)));
  return pcm;
};
/** Each utterance's Opus, encoded once (real members encode on their own machines). */
const preparedSpeech = new Map<string, { opus: Buffer[] }>();
const preparedUtterance = (seconds: number, seed: number) => {
  const key = `${seconds}:${seed}`;
  let speech = preparedSpeech.get(key);
  if (!speech) preparedSpeech.set(key, (speech = { opus: encodeOpusFrames(cachedUtterance(seconds, seed)) }));
  return speech;
};
send({
  type: 'ready',
  realtime: realtime ? { url: realtime.url, apiKey: realtime.apiKey } : null,
  discord: { rest: discord.rest, token: discord.token, applicationId: discord.applicationId },
  guildIds: sims.map((sim) => sim.guildId),
});

process.on('message', async (message: { cmd: string; turns?: number; seconds?: number }) => {
  try {
    if (message.cmd === 'join') {
      await Promise.all(
        sims.map(async (sim) => {
          await sim.member('Alice').joinVoice();
          await sim.member('Carol').joinVoice();
          const record = await sim.member('Alice').runCommand('join');
          const content = await record.waitForContent(60_000);
          if (!content.startsWith('Joined')) throw new Error(`join refused: ${content}`);
        }),
      );
      send({ type: 'joined' });
    } else if (message.cmd === 'talk') {
      const turns = message.turns ?? 3;
      const seconds = message.seconds ?? 1.5;
      for (const sim of sims) sim.member('Carol').clearHeard();
      const startedAt = performance.now();
      const cpuBefore = process.cpuUsage();
      // How late the simulators' own timers run: a member's packet leaves when its timer fires, so
      // this process's delay is network jitter the bot's jitter buffer sees (and can count as late).
      const loopDelay = monitorEventLoopDelay({ resolution: 5 });
      loopDelay.enable();
      let framesSent = 0;
      // How late each member packet left against its capture schedule (the simulated network's own
      // jitter), by RTP timestamp so the bot's side can look up the packets it dropped as late.
      const sendLateMs: number[] = [];
      const sendLateByTimestamp: [number, number][] = [];
      const onSent = (header: { timestamp: number }, lateMs: number) => {
        sendLateMs.push(lateMs);
        sendLateByTimestamp.push([header.timestamp, Math.round(lateMs * 10) / 10]);
      };
      for (let t = 0; t < turns; t++) (encodeLive ? cachedUtterance : preparedUtterance)(seconds, 1 + t); // before the clock starts
      await Promise.all(
        sims.map(async (sim, g) => {
          // Spread the members over the turn cycle (speech + reply), as independent conversations
          // would be; this also spreads the simulator's up-front Opus encoding of each utterance.
          await sleep((g * (seconds * 1000 + 2_600)) / sims.length + (g % 20));
          for (let t = 0; t < turns; t++) {
            const pcm = cachedUtterance(seconds, 1 + t);
            framesSent += Math.ceil(pcm.length / 1920) + 5; // voiced frames + five silence frames
            await sim.member('Alice').speak(encodeLive ? pcm : preparedUtterance(seconds, 1 + t), encodeLive ? { onSent } : { onSent, aheadMs: SEND_AHEAD_MS });
            await sleep(2_600); // the bot answers (2 s reply) before the next turn
          }
        }),
      );
      loopDelay.disable();
      await sleep(1_000);
      // Arrival spacing of consecutive reply packets heard by each listener, within bursts.
      let packets = 0;
      let spacingOver25 = 0;
      const gaps: number[] = [];
      for (const sim of sims) {
        const heard = sim.member('Carol').heard().packets.filter((p) => !p.silence);
        packets += heard.length;
        for (let i = 1; i < heard.length; i++) {
          const gap = heard[i]!.arrivalMs - heard[i - 1]!.arrivalMs;
          if (gap > 200) continue; // between replies
          gaps.push(gap);
          if (gap > 25) spacingOver25++;
        }
      }
      gaps.sort((a, b) => a - b);
      sendLateMs.sort((a, b) => a - b);
      const pick = (q: number) => (sendLateMs.length ? Math.round(sendLateMs[Math.min(sendLateMs.length - 1, Math.floor(sendLateMs.length * q))]! * 10) / 10 : null);
      send({
        type: 'talked',
        framesSent,
        // The simulators share the 2 cores with the bot: their load is part of the picture.
        simulatorCpuPctOfOneCore: (() => {
          const cpu = process.cpuUsage(cpuBefore);
          return Math.round(((cpu.user + cpu.system) / 1000 / (performance.now() - startedAt)) * 1000) / 10;
        })(),
        // The histogram holds whole intervals of a 5 ms timer: the delay is what exceeds 5 ms.
        simulatorLoopDelayP99Ms: Math.round((loopDelay.percentile(99) / 1e6 - 5) * 10) / 10,
        simulatorLoopDelayMaxMs: Math.round((loopDelay.max / 1e6 - 5) * 10) / 10,
        memberSendLate: {
          packets: sendLateMs.length,
          p50Ms: pick(0.5),
          p99Ms: pick(0.99),
          maxMs: pick(1),
          over20ms: sendLateMs.filter((ms) => ms > 20).length,
          over40ms: sendLateMs.filter((ms) => ms > 40).length,
          over60ms: sendLateMs.filter((ms) => ms > 60).length,
        },
        sendLateByTimestamp,
        heardPackets: packets,
        spacingOver25ms: spacingOver25,
        spacingP99Ms: gaps.length ? gaps[Math.floor(gaps.length * 0.99)] : null,
        elapsedMs: performance.now() - startedAt,
      });
    } else if (message.cmd === 'close') {
      await discord.close();
      await realtime?.close();
      process.exit(0);
    }
  } catch (error) {
    send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
});
