/**
 * `npm run bench`: runs every registered benchmark module and prints one JSON object per line
 * (`name`, `value`, `unit`, optional extra fields). To add benchmarks, export a {@link BenchModule}
 * from a file under bench/ and append it to `modules`.
 */
import { audioBenchmarks } from './audio.ts';
import { fidelityBenchmarks } from './fidelity.ts';
import { floodBenchmarks } from './flood.ts';
import type { BenchModule, BenchRow } from './harness.ts';
import { hotPathBenchmarks } from './hotPaths.ts';
import { loadBenchmarks } from './load.ts';
import { realtimeBenchmarks } from './realtime.ts';
import { storeBenchmarks } from './store.ts';
import { toolsBenchmarks } from './tools.ts';
import { voiceBenchmarks } from './voice.ts';

const modules: BenchModule[] = [audioBenchmarks, realtimeBenchmarks, voiceBenchmarks, fidelityBenchmarks, floodBenchmarks, loadBenchmarks, storeBenchmarks, toolsBenchmarks, hotPathBenchmarks];

const report = (row: BenchRow) => console.log(JSON.stringify(row));
const only = process.argv[2]; // optional: run just the module with this name
for (const module of modules) {
  if (only !== undefined && module.name !== only) continue;
  const started = performance.now();
  await module.run(report);
  report({ name: `${module.name}_bench_duration`, value: Math.round(performance.now() - started), unit: 'ms' });
}
