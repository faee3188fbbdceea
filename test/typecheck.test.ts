// The TypeScript compiler's strict check is part of the suite: a type error fails the run like a test.
import { spawnSync } from 'node:child_process';
import t from 'tap';

t.test('tsc --noEmit passes', async (t) => {
  const result = spawnSync('tsc', ['-p', 'tsconfig.json'], { encoding: 'utf8', shell: false });
  t.equal(result.status, 0, result.stdout + result.stderr);
});
