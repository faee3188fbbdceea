// One websocket stream: events out as JSON text frames, pings to find dead peers, a bounded send buffer so a
// slow reader is dropped instead of growing our memory or holding up anyone else, and a periodic check that
// the token it opened with still works. `keepStream` is that machinery alone, for streams that send other
// shapes (the Mastodon streaming API) or over server-sent events (`eventStreamSocket`).
import type { ServerResponse } from 'node:http';
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

/** How a stream connection is kept: the parts every stream shares, whatever it sends. */
export interface KeepOptions {
  /** For the log lines. */
  name: string;
  heartbeatMs: number;
  maxBufferedBytes: number;
  /** Asked at every heartbeat; when it answers false (token revoked, member suspended) the stream closes. */
  stillAllowed: () => Promise<boolean>;
  log: FastifyBaseLogger;
}

export interface StreamOptions extends KeepOptions {
  bus: LiveBus;
  scope: LiveScope;
  /** Also the stream's name in its first message: `{"event":"subscribed","stream":…}`. */
  reader: Reader;
  /** The last event number the client saw: the events since are sent first (see LiveBus.subscribe). */
  after?: number;
}

/** An open stream as its owner sees it. */
export interface KeptStream {
  /** Sends `text`, or drops the peer if it has not read what was sent before. */
  send(text: string): void;
  /** Runs `cleanup` when the stream ends, however it ends (at once if it already has). */
  onEnd(cleanup: () => void): void;
  readonly open: boolean;
}

const open = 1;
export const closeCodes = { tooSlow: 4008, revoked: 4001 } as const;

/** Pings to find dead peers, a bounded send buffer, and the periodic token check, for any stream. */
export function keepStream(socket: StreamSocket, options: KeepOptions): KeptStream {
  let alive = true;
  let ended = false;
  const cleanups: (() => void)[] = [];
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    for (const cleanup of cleanups.splice(0)) cleanup();
  };
  socket.on('close', end);
  socket.on('pong', () => (alive = true));

  const heartbeat = setInterval(() => {
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

  return {
    get open() {
      return !ended && socket.readyState === open;
    },
    onEnd(cleanup) {
      if (ended) cleanup();
      else cleanups.push(cleanup);
    },
    send(text) {
      if (ended || socket.readyState !== open) return;
      if (socket.bufferedAmount > options.maxBufferedBytes) {
        options.log.info({ stream: options.name, buffered: socket.bufferedAmount }, 'live stream too slow: dropped');
        end();
        socket.terminate();
        return;
      }
      socket.send(text);
    },
  };
}

export async function serveStream(socket: StreamSocket, options: StreamOptions): Promise<void> {
  const stream = keepStream(socket, options);
  const stop = await options.bus.subscribe(options.scope, options.reader, (event) => stream.send(JSON.stringify(event)), options.after);
  stream.onEnd(stop);
  stream.send(JSON.stringify({ event: 'subscribed', stream: options.name }));
}

/**
 * A server-sent-events response seen as a stream socket, so it is kept like a websocket: heartbeats are
 * `:thump` comments (a peer that is gone shows up as a closed connection or a send buffer that never drains),
 * and its send buffer is the response's.
 */
export function eventStreamSocket(response: ServerResponse): StreamSocket {
  const pongs: (() => void)[] = [];
  return {
    get readyState() {
      return response.destroyed || response.writableEnded ? 3 : open;
    },
    get bufferedAmount() {
      return response.writableLength;
    },
    send: (data) => void response.write(data),
    ping() {
      response.write(':thump\n\n');
      for (const pong of pongs) pong();
    },
    close: () => response.end(),
    terminate: () => response.destroy(),
    on(event, listener) {
      if (event === 'pong') pongs.push(listener);
      else response.on('close', listener);
      return this;
    },
  };
}
