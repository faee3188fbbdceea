// docker-compose.yml cannot be run on these machines (no Docker engine), so its shape is checked here:
// PostgreSQL with a health check and a volume, and the server built from this repository, waiting for
// a healthy database, pointed at it, and checked by its own /readyz.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { root } from './processes.ts';

t.test('docker-compose.yml runs PostgreSQL and the server with health checks and a volume', async (t) => {
  const compose = parse(readFileSync(`${root}/docker-compose.yml`, 'utf8'), { merge: true });
  const services = Object.values(compose.services) as Record<string, any>[];
  const database = services.find((s) => String(s.image).startsWith('postgres'))!;
  t.ok(database, 'a PostgreSQL service');
  t.match(JSON.stringify(database.healthcheck.test), /pg_isready/);
  const volume = String(database.volumes[0]).split(':')[0]!;
  t.ok(compose.volumes && volume in compose.volumes, 'its data lives in a named volume');
  const servers = services.filter((s) => s.build);
  t.ok(servers.length >= 1, 'the server is built from this repository');
  for (const server of servers) {
    t.match(server.environment.DATABASE_URL, /^postgres:\/\//);
    t.same(Object.values(server.depends_on).map((d: any) => d.condition), ['service_healthy']);
    t.ok(server.healthcheck, 'each server has a health check');
  }
  t.ok(servers.some((s) => JSON.stringify(s.healthcheck.test).includes('/readyz')), 'the web server is healthy only while /readyz is');
});
