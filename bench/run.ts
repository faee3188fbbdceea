// `npm run bench`: runs every bench/*.bench.ts in turn (or those named on the command line).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const folder = fileURLToPath(new URL('.', import.meta.url));
const named = process.argv.slice(2);
const files = named.length ? named : readdirSync(folder).filter((f) => f.endsWith('.bench.ts')).sort().map((f) => `bench/${f}`);
let failed = 0;
for (const file of files) {
  console.log(`# ${file}`);
  const result = spawnSync(process.execPath, [file], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
