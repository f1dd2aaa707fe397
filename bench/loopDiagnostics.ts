/**
 * What the load benchmark watches besides the packets: how late the shared 20 ms clock's own ticks
 * fire (the event loop was busy, or the thread was not scheduled), garbage-collection pauses by kind,
 * and event-loop delay. Together they tell whether late packets come from our work, from GC, or from
 * the machine.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { constants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import type { FrameClock } from '../src/audio/index.ts';

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Busy and total CPU time of the whole machine so far (Linux /proc/stat, in clock ticks); null elsewhere. */
function machineCpu(): { busy: number; total: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
    const idle = fields[3]! + fields[4]!; // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** Starts watching; `stop()` returns the figures as benchmark row fields. */
export function watchEventLoop(clock: FrameClock): { stop(): Record<string, unknown> } {
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const tickLateness: number[] = [];
  /** Ticks more than 5 ms late: [when due, when run] (performance.now() ms, the clock's time source). */
  const lateTicks: [number, number][] = [];
  /**
   * For each late tick, how much of the time since the previous tick ran the loop was not waiting
   * for events (eventLoopUtilization's active time): small when the loop sat idle and the thread woke
   * late (the machine did not run it), large when work on the loop held the tick back.
   */
  const lateTickBusyMs: number[] = [];
  let previousUtilization = performance.eventLoopUtilization();
  /** For each late tick, the CPU time this thread got over the same span: well below the busy time when other threads had the cores. */
  const lateTickCpuMs: number[] = [];
  let previousCpu = process.threadCpuUsage();
  /** Garbage-collection pauses: [start, end]. */
  const pauses: [number, number][] = [];
  const unsubscribe = clock.subscribe((tick) => {
    tickLateness.push(tick.lateMs);
    const utilization = performance.eventLoopUtilization();
    const cpu = process.threadCpuUsage();
    if (tick.lateMs > 5) {
      lateTicks.push([tick.scheduledMs, tick.scheduledMs + tick.lateMs]);
      lateTickBusyMs.push(utilization.active - previousUtilization.active);
      lateTickCpuMs.push((cpu.user - previousCpu.user + cpu.system - previousCpu.system) / 1000);
    }
    previousUtilization = utilization;
    previousCpu = cpu;
  });
  const gc = new Map<string, { count: number; ms: number; maxMs: number }>();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
      const kind = GC_KINDS[detail?.kind ?? 0] ?? 'other';
      const row = gc.get(kind) ?? { count: 0, ms: 0, maxMs: 0 };
      row.count++;
      row.ms += entry.duration;
      row.maxMs = Math.max(row.maxMs, entry.duration);
      pauses.push([entry.startTime, entry.startTime + entry.duration]);
      gc.set(kind, row);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const machineBefore = machineCpu();
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    stop() {
      loopDelay.disable();
      unsubscribe();
      observer.disconnect();
      const late = tickLateness.filter((ms) => ms > 5).length;
      const machineAfter = machineCpu();
      // Everything that ran on the machine meanwhile (this process, the simulators, and anyone else's work), % of one core.
      const machinePct = machineBefore && machineAfter && machineAfter.total > machineBefore.total
        ? round(((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) * cpus().length * 100)
        : null;
      return {
        machine_cpu_pct_of_one_core: machinePct,
        clock_ticks: tickLateness.length,
        clock_ticks_late_5ms_pct: Math.round((late / Math.max(1, tickLateness.length)) * 10_000) / 100,
        clock_tick_late_max_ms: round(Math.max(0, ...tickLateness)),
        // Of the late ticks, those with a garbage-collection pause between when they were due and when they ran.
        clock_ticks_late_5ms_with_gc: lateTicks.filter(([due, ran]) => pauses.some(([start, end]) => start < ran && end > due)).length,
        clock_ticks_late_5ms_count: lateTicks.length,
        // Of the late ticks: the loop busy less than 10 ms of the ~20 ms before (woke late: the thread was not run) / more.
        clock_ticks_late_5ms_loop_mostly_idle: lateTickBusyMs.filter((ms) => ms < 10).length,
        // … and those where the thread got less than 60% of its busy time as CPU (runnable, but the cores were taken).
        clock_ticks_late_5ms_thread_starved: lateTickBusyMs.filter((busy, i) => lateTickCpuMs[i]! < 0.6 * busy).length,
        clock_ticks_late_loop_busy_vs_cpu_ms: lateTickBusyMs.map((ms, i) => `${Math.round(ms)}/${Math.round(lateTickCpuMs[i]!)}`).join(' '),
        gc_pauses: Object.fromEntries([...gc].map(([kind, row]) => [kind, `${row.count} × ${round(row.ms / row.count)} ms avg, max ${round(row.maxMs)} ms`])),
        gc_pause_total_ms: Math.round([...gc.values()].reduce((sum, row) => sum + row.ms, 0)),
        // The histogram holds whole intervals of a 5 ms timer: the delay is what exceeds 5 ms.
        event_loop_delay_p99_ms: round(loopDelay.percentile(99) / 1e6 - 5),
        event_loop_delay_max_ms: round(loopDelay.max / 1e6 - 5),
      };
    },
  };
}
