// Simulated remote instances for the federation benchmarks: one HTTP server on loopback that serves actor
// documents (each actor with the RSA key shared by all, so key generation does not dominate the setup),
// signs activities draft-cavage style as those actors, and accepts deliveries to their inboxes, counting them.
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { RequestSpec } from './lib.ts';

export class SimulatedRemotes {
  readonly server: Server;
  origin = '';
  /** Deliveries received (POSTs), and when the last one arrived. */
  received = 0;
  lastAt = 0;
  readonly #privateKey: KeyObject;
  readonly #publicPem: string;

  constructor() {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.#privateKey = privateKey;
    this.#publicPem = String(publicKey.export({ type: 'spki', format: 'pem' }));
    this.server = createServer((req, res) => {
      if (req.method === 'POST') {
        req.on('data', () => {});
        req.on('end', () => {
          this.received++;
          this.lastAt = performance.now();
          res.writeHead(202).end();
        });
        return;
      }
      const match = /^\/users\/([a-z0-9-]+)$/.exec(req.url ?? '');
      if (!match) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/activity+json' }).end(JSON.stringify(this.actorDocument(match[1]!)));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  actorId = (name: string) => `${this.origin}/users/${name}`;

  actorDocument(name: string) {
    const id = this.actorId(name);
    return {
      '@context': ['https://www.w3.org/ns/activitystreams', 'https://w3id.org/security/v1'],
      id,
      type: 'Person',
      preferredUsername: name,
      inbox: `${id}/inbox`,
      endpoints: { sharedInbox: `${this.origin}/inbox` },
      publicKey: { id: `${id}#main-key`, owner: id, publicKeyPem: this.#publicPem },
    };
  }

  /** `activity` as a signed POST to `path` on `host`, ready to send (signed now, valid for the time window). */
  signed(host: string, path: string, name: string, activity: unknown): RequestSpec {
    const body = JSON.stringify(activity);
    const headers: Record<string, string> = {
      host,
      date: new Date().toUTCString(),
      digest: `SHA-256=${createHash('sha256').update(body).digest('base64')}`,
      'content-type': 'application/activity+json',
    };
    const text = `(request-target): post ${path}\nhost: ${host}\ndate: ${headers.date}\ndigest: ${headers.digest}`;
    const signature = sign('sha256', Buffer.from(text), this.#privateKey).toString('base64');
    headers.signature = `keyId="${this.actorId(name)}#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="${signature}"`;
    return { method: 'POST', path, headers, body };
  }
}
