// One websocket stream: events out as JSON text frames, pings to find dead peers, a bounded send buffer so a
// slow reader is dropped instead of growing our memory or holding up anyone else, and a periodic check that
// the token it opened with still works.
import type { FastifyBaseLogger } from 'fastify';
import type { Reader } from '../feeds/visibility.ts';
import type { LiveBus, LiveScope } from './bus.ts';

/** The part of a `ws` WebSocket a stream uses; small enough to stand in for in tests. */
export interface StreamSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  ping(): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: 'pong' | 'close', listener: () => void): unknown;
}

export interface StreamOptions {
  bus: LiveBus;
  scope: LiveScope;
  /** The stream's name in its first message: `{"event":"subscribed","stream":…}`. */
  name: string;
  reader: Reader;
  heartbeatMs: number;
  maxBufferedBytes: number;
  /** Asked at every heartbeat; when it answers false (token revoked, member suspended) the stream closes. */
  stillAllowed: () => Promise<boolean>;
  log: FastifyBaseLogger;
}

const open = 1;
export const closeCodes = { tooSlow: 4008, revoked: 4001 } as const;

export async function serveStream(socket: StreamSocket, options: StreamOptions): Promise<void> {
  let alive = true;
  let unsubscribe: (() => void) | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const end = () => {
    clearInterval(heartbeat);
    unsubscribe?.();
    unsubscribe = undefined;
  };
  socket.on('close', end);
  socket.on('pong', () => (alive = true));

  const deliver = (text: string) => {
    if (socket.readyState !== open) return;
    if (socket.bufferedAmount > options.maxBufferedBytes) {
      options.log.info({ stream: options.name, buffered: socket.bufferedAmount }, 'live stream too slow: dropped');
      end();
      socket.terminate();
      return;
    }
    socket.send(text);
  };

  heartbeat = setInterval(() => {
    if (!alive) {
      options.log.info({ stream: options.name }, 'live stream missed a heartbeat: dropped');
      end();
      socket.terminate();
      return;
    }
    alive = false;
    socket.ping();
    options.stillAllowed().then(
      (allowed) => {
        if (allowed || socket.readyState !== open) return;
        end();
        socket.close(closeCodes.revoked, 'token no longer valid');
      },
      (error: unknown) => options.log.warn({ err: error }, 'live stream: could not recheck its token'),
    );
  }, options.heartbeatMs);
  heartbeat.unref();

  const stop = await options.bus.subscribe(options.scope, options.reader, (event) => deliver(JSON.stringify(event)));
  if (socket.readyState !== open) {
    stop();
    end();
    return;
  }
  unsubscribe = stop;
  deliver(JSON.stringify({ event: 'subscribed', stream: options.name }));
}
