// A websocket client for tests: collects a stream's JSON messages and waits for the one wanted.
import WebSocket from 'ws';

export interface StreamClient {
  socket: WebSocket;
  messages: any[];
  /** The next message (from those not yet taken) matching `wanted`; fails after `timeoutMs`. */
  next(wanted?: (message: any) => boolean, timeoutMs?: number): Promise<any>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/** Opens a stream; resolves once the server says it is subscribed, or rejects with the refusal's status. */
export function openStream(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<StreamClient> {
  const socket = new WebSocket(url, options.protocols ?? [], { headers: options.headers });
  const messages: any[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    for (const wake of waiters) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  const client: StreamClient = {
    socket,
    messages,
    closed,
    close: () => socket.close(),
    next(wanted = () => true, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const look = () => {
          const index = messages.findIndex(wanted);
          if (index < 0) return false;
          const [message] = messages.splice(index, 1);
          clearTimeout(timer);
          waiters.delete(look);
          resolve(message);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(look);
          reject(new Error(`no matching message within ${timeoutMs} ms; had ${JSON.stringify(messages)}`));
        }, timeoutMs);
        if (!look()) waiters.add(look);
      });
    },
  };
  return new Promise((resolve, reject) => {
    socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => reject(Object.assign(new Error(`refused with ${response.statusCode}: ${body}`), { status: response.statusCode, body })));
    });
    socket.on('error', reject);
    client.next((m) => m.event === 'subscribed').then(() => resolve(client), reject);
  });
}
