// `npm test`: runs every tap suite (each against PGlite and PostgreSQL) and ends with one line,
// `N passed, N failed`, counting the assertions of the whole run.
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
const child = spawn('tap', ['--reporter=tap', ...args], { stdio: ['ignore', 'pipe', 'inherit'], shell: false });
let tail = '';
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString('utf8')).slice(-4000);
});
const code: number = await new Promise((resolve) => child.on('close', (status) => resolve(status ?? 1)));

// tap's tap reporter closes with a summary such as `# { total: 12, pass: 11, fail: 1, skip: 2 }`.
const summary = [...tail.matchAll(/^# \{ total: (\d+)(.*)\}$/gm)].pop();
const count = (name: string) => Number(new RegExp(`${name}: (\\d+)`).exec(summary?.[2] ?? '')?.[1] ?? 0);
const failed = summary ? count('fail') : 1;
const passed = count('pass');
const skipped = count('skip') + count('todo');
const failedTotal = code !== 0 && failed === 0 ? 1 : failed;
console.log(`${passed} passed, ${failedTotal} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(code === 0 && failedTotal === 0 ? 0 : 1);
