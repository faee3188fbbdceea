// Starting real server and command-line processes for tests, as an operator would.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
/** The environment and options `npm start` gives node (malloc arenas, heap sizes), so servers here run as they do in production. */
const startWords = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ');
const startOptions = startWords.filter((word) => word.startsWith('--'));
const startEnvironment = Object.fromEntries(startWords.flatMap((word) => {
  const assignment = /^([A-Z_]+)=(.*)$/.exec(word);
  return assignment ? [[assignment[1]!, assignment[2]!]] : [];
}));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  logs: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Starts the server as `npm start` does, with the given environment, and waits until it is listening. */
export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...startOptions, 'server/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', LOG_LEVEL: 'info', ...startEnvironment, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    // Generous: a loaded two-core machine running suites in parallel can be slow to start Node and PGlite.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start:\n${output}`));
    }, 90_000);
    // Only until it is ready: the output keeps growing by a line per request, and reading all of it again
    // for every chunk would cost the process holding it more with every request it logs.
    const check = () => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match && /square mile is ready/.test(output)) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`server exited:\n${output}`));
    });
  });
  return {
    child,
    url,
    logs: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = await exited;
      return code as number | null;
    },
  };
}

export function runCommand(script: string, args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [script, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
  });
}

/** JSON over real HTTP to a server process, as an API client calls it; a body that is not JSON reads as null. */
export async function callJson(base: string, method: string, path: string, body?: unknown, token?: string) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(token && { authorization: `Bearer ${token}` }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json().catch(() => null)) as any };
}
