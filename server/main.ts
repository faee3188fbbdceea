// Starts a Square Mile instance: configuration, database and migrations, then the HTTP server.
import pino from 'pino';
import { guardOutgoingFetches } from '../federation/outbound-guard.ts';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { migrate, openDatabase } from './database.ts';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`square-mile: ${error.message}`);
  process.exit(1);
}

// Written asynchronously, so a burst of requests does not wait on the terminal or pipe; pino flushes what
// is left when the process exits.
const logger = pino({ level: config.logLevel }, pino.destination({ sync: false }));
guardOutgoingFetches({ timeoutMs: config.fetchTimeoutMs, allowPrivateAddresses: config.allowPrivateAddresses });
const db = await openDatabase(config);
try {
  const applied = await migrate(db);
  if (applied.length) logger.info({ applied }, 'migrations applied');
} catch (error) {
  logger.fatal({ err: error }, 'the database could not be migrated');
  await db.destroy();
  process.exit(1);
}

const app = await buildApp({ config, db, logger });
await app.listen({ host: config.host, port: config.port });
logger.info({ url: config.publicUrl.href, database: config.databaseUrl ? 'postgresql' : 'embedded' }, 'square mile is ready');

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: finishing requests in flight');
  // Fastify stops accepting, waits for in-flight requests, then the database pool closes.
  await app.close();
  await db.destroy();
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
