// `npm run bench`: runs every bench/*.bench.ts in turn, the machine's limits first, or those named on the
// command line (`npm run bench -- inbound reading`, or paths); then prints every figure in one table, each
// beside the machine limit it is bounded by, as a ratio. BENCH_QUICK=1 makes the whole run a few minutes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Figure, format } from './lib.ts';

const folder = fileURLToPath(new URL('.', import.meta.url));
const all = readdirSync(folder).filter((f) => f.endsWith('.bench.ts')).sort((a, b) => Number(b === 'limits.bench.ts') - Number(a === 'limits.bench.ts') || a.localeCompare(b));
const named = process.argv.slice(2).map((name) => (name.endsWith('.ts') ? name : `bench/${name}.bench.ts`));
// The limits run with any selection, so every figure has its ratio.
const files = named.length ? [...new Set(['bench/limits.bench.ts', ...named])] : all.map((f) => `bench/${f}`);
const scratch = mkdtempSync(join(tmpdir(), 'sm-bench-results-'));
const results = join(scratch, 'figures.jsonl');
let failed = 0;
for (const file of files) {
  console.log(`\n# ${file}`);
  const result = spawnSync(process.execPath, [file], { stdio: 'inherit', env: { ...process.env, BENCH_RESULTS: results } });
  if (result.status !== 0) {
    failed++;
    console.log(`# ${file} failed (exit ${result.status})`);
  }
}

let figures: Figure[] = [];
try {
  figures = readFileSync(results, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Figure);
} catch {
  // nothing was reported
}
rmSync(scratch, { recursive: true, force: true });
const limits = new Map(figures.filter((f) => f.name.startsWith('limit: ')).map((f) => [f.name, f]));
console.log(`\n# summary (${process.env.BENCH_QUICK ? 'quick' : 'full'} run, node ${process.version}; ratios are against limits measured in this run)`);
for (const figure of figures) {
  if (figure.name.startsWith('limit: ')) continue;
  const limit = figure.limit ? limits.get(figure.limit) : undefined;
  const ratio = limit ? `  = ${(figure.value / limit.value).toFixed(3)} × ${figure.limit!.slice(7)} (${format(limit.value)} ${limit.unit})` : '';
  console.log(`${figure.name.padEnd(72)} ${format(figure.value).padStart(9)} ${figure.unit.padEnd(9)}${figure.target ? ` target ${figure.target}` : ''}${ratio}`);
}
process.exit(failed ? 1 : 0);
