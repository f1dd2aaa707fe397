/**
 * Child process of the load benchmark (bench/load.ts): hosts the realtime model simulator on its own,
 * so the model's replies (2 s of audio per turn for every session) are not made on the event loop
 * whose timers send the simulated members' packets. On the real network the model service and the
 * members' clients are different machines; one busy loop for both made the members' packets leave
 * late, jitter a real network would not add. Prints nothing; driven over IPC:
 *   ← { type: 'ready', url, apiKey }
 *   → { cmd: 'cpu' }   answers { type: 'cpu', ms } (CPU time used since start)
 *   → { cmd: 'close' }
 */
import { startRealtimeSimulator } from '../sim/realtime/index.ts';

const realtime = await startRealtimeSimulator({ replyAudioMs: 2_000 });
process.send!({ type: 'ready', url: realtime.url, apiKey: realtime.apiKey });
process.on('message', async (message: { cmd: string }) => {
  if (message.cmd === 'cpu') {
    const cpu = process.cpuUsage();
    process.send!({ type: 'cpu', ms: (cpu.user + cpu.system) / 1000 });
  } else if (message.cmd === 'close') {
    await realtime.close();
    process.exit(0);
  }
});
