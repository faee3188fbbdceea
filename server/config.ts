// Instance configuration: defaults, then an optional JSON file under config/, then the environment.
// Every value is checked before anything starts, so the server never runs half-configured.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';

export type RegistrationMode = 'open' | 'approval' | 'closed';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** `web` serves HTTP without running queue jobs, `worker` runs queue jobs behind a health endpoint, `all` both. */
export type Role = 'all' | 'web' | 'worker';

export interface Config {
  /** Host (and port, if not default) that names this instance in handles: `@park-road@<domain>`. */
  domain: string;
  /** The URL people and other servers reach this instance at; ActivityPub ids are built on it. */
  publicUrl: URL;
  instanceName: string;
  host: string;
  port: number;
  /** PostgreSQL connection string; when absent the embedded database under `dataDir` is used. */
  databaseUrl: string | null;
  dataDir: string;
  logLevel: LogLevel;
  registration: RegistrationMode;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
  /**
   * Lets federation fetch loopback and private addresses: all of them (true), or only these IP addresses,
   * so a test may reach its own servers on 127.0.0.1 while every other private address stays refused.
   */
  allowPrivateAddresses: boolean | readonly string[];
  /** Allowlist mode (Mastodon's limited federation): only servers on the domain allowlist are federated with. */
  limitedFederation: boolean;
  /** Seconds between websocket pings; a stream that misses one answer is dropped. */
  liveHeartbeatSeconds: number;
  /** Bytes a stream may have waiting to be sent before it counts as too slow and is dropped. */
  liveSendBufferBytes: number;
  /** Longest wait for any fetch from another server, in milliseconds. */
  fetchTimeoutMs: number;
  /** Largest document accepted from another server, in bytes. */
  fetchMaxBytes: number;
  /** How far a signed request's Date (or `created`) may be from our clock, in seconds. */
  signatureWindowSeconds: number;
  /** How long a worker holds a delivery job before another worker may take it over, in seconds. */
  queueLeaseSeconds: number;
  /** How often an idle queue worker looks for due jobs, in milliseconds. */
  queuePollMs: number;
  /** Failed deliveries to one server, within ten minutes, after which it counts as unreachable. */
  unreachableAfterFailures: number;
  /** How long deliveries to an unreachable server wait before one is tried again, in seconds. */
  unreachableRetrySeconds: number;
  /** What this process does; run any number of each against one PostgreSQL database. */
  role: Role;
  /** Longest wait for a database connection before a request is answered 503, in milliseconds. */
  databaseTimeoutMs: number;
  /** Inbox requests handled at once by one process; more are answered 503 with Retry-After. */
  inboxMaxInFlight: number;
  /** Queued jobs due to run past which the inboxes answer 503 with Retry-After. */
  inboxMaxBacklog: number;
  /** Threads and replies one local account may post per hour; more are answered 429. */
  postsPerHour: number;
  /** Follows (of neighbourhoods and people) one local account may make per hour. */
  followsPerHour: number;
  /** Posts (Create) one other server may send per hour; more are answered 429. */
  remotePostsPerHour: number;
  /** Follows one other server may send per hour. */
  remoteFollowsPerHour: number;
  /** Local neighbourhoods one incoming post may address or mention; past it the activity is refused. */
  maxNeighbourhoodsPerActivity: number;
}

export class ConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(`invalid setting ${setting}: ${message}`);
    this.setting = setting;
  }
}

/** Names of the environment variables, also the keys of the optional JSON file. */
const settings = {
  publicUrl: 'PUBLIC_URL',
  domain: 'DOMAIN',
  instanceName: 'INSTANCE_NAME',
  host: 'HOST',
  port: 'PORT',
  databaseUrl: 'DATABASE_URL',
  dataDir: 'DATA_DIR',
  logLevel: 'LOG_LEVEL',
  registration: 'REGISTRATION',
  bodyLimit: 'BODY_LIMIT',
  allowPrivateAddresses: 'ALLOW_PRIVATE_ADDRESSES',
  limitedFederation: 'LIMITED_FEDERATION_MODE',
  liveHeartbeatSeconds: 'LIVE_HEARTBEAT_SECONDS',
  liveSendBufferBytes: 'LIVE_SEND_BUFFER_BYTES',
  fetchTimeoutMs: 'FETCH_TIMEOUT_MS',
  fetchMaxBytes: 'FETCH_MAX_BYTES',
  signatureWindowSeconds: 'SIGNATURE_WINDOW_SECONDS',
  queueLeaseSeconds: 'QUEUE_LEASE_SECONDS',
  queuePollMs: 'QUEUE_POLL_MS',
  unreachableAfterFailures: 'UNREACHABLE_AFTER_FAILURES',
  unreachableRetrySeconds: 'UNREACHABLE_RETRY_SECONDS',
  role: 'ROLE',
  databaseTimeoutMs: 'DATABASE_TIMEOUT_MS',
  inboxMaxInFlight: 'INBOX_MAX_IN_FLIGHT',
  inboxMaxBacklog: 'INBOX_MAX_BACKLOG',
  postsPerHour: 'POSTS_PER_HOUR',
  followsPerHour: 'FOLLOWS_PER_HOUR',
  remotePostsPerHour: 'REMOTE_POSTS_PER_HOUR',
  remoteFollowsPerHour: 'REMOTE_FOLLOWS_PER_HOUR',
  maxNeighbourhoodsPerActivity: 'MAX_NEIGHBOURHOODS_PER_ACTIVITY',
} as const satisfies Record<keyof Config, string>;

type RawSettings = Partial<Record<keyof Config, string>>;

const logLevels: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const registrationModes: readonly RegistrationMode[] = ['open', 'approval', 'closed'];
const roles: readonly Role[] = ['all', 'web', 'worker'];

function readFile(path: string): RawSettings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError('CONFIG_FILE', `${path} is not readable JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('CONFIG_FILE', `${path} must hold a JSON object`);
  }
  const raw: RawSettings = {};
  for (const [key, value] of Object.entries(parsed)) {
    const name = (Object.keys(settings) as (keyof Config)[]).find((k) => settings[k] === key || k === key);
    if (!name) throw new ConfigError('CONFIG_FILE', `${path} has an unknown setting "${key}"`);
    raw[name] = String(value);
  }
  return raw;
}

function integer(name: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) throw new ConfigError(name, `"${value}" is not a whole number`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(name, `${n} is outside ${min}..${max}`);
  return n;
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `"${value}" is not one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function boolean(name: string, value: string): boolean {
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no|)$/i.test(value)) return false;
  throw new ConfigError(name, `"${value}" is not true or false`);
}

/** true, false, or IP addresses separated by commas (IPv6 ones written as URLs show them, `[::1]`). */
function addressesOrBoolean(name: string, value: string): boolean | string[] {
  if (/^(1|true|yes|0|false|no|)$/i.test(value.trim())) return boolean(name, value.trim());
  const addresses = value.split(',').map((a) => a.trim().replace(/^\[(.*)\]$/, '$1'));
  const bad = addresses.find((a) => !isIP(a));
  if (bad !== undefined) throw new ConfigError(name, `"${bad}" is not true, false or an IP address`);
  return addresses.map((a) => new URL(`http://${isIP(a) === 6 ? `[${a}]` : a}/`).hostname);
}

/**
 * Builds the configuration from the environment (and `CONFIG_FILE`, default `config/square-mile.json`
 * when it exists). Throws ConfigError naming the first bad setting.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const filePath = env.CONFIG_FILE ? resolve(cwd, env.CONFIG_FILE) : resolve(cwd, 'config/square-mile.json');
  if (env.CONFIG_FILE && !existsSync(filePath)) throw new ConfigError('CONFIG_FILE', `${filePath} does not exist`);
  const raw: RawSettings = existsSync(filePath) ? readFile(filePath) : {};
  for (const key of Object.keys(settings) as (keyof Config)[]) {
    const value = env[settings[key]];
    if (value !== undefined) raw[key] = value;
  }

  const port = integer(settings.port, raw.port ?? '8080', 0, 65535);
  const host = raw.host ?? '0.0.0.0';
  let publicUrl: URL;
  try {
    publicUrl = new URL(raw.publicUrl ?? `http://localhost:${port}`);
  } catch {
    throw new ConfigError(settings.publicUrl, `"${raw.publicUrl}" is not a URL`);
  }
  if (publicUrl.protocol !== 'http:' && publicUrl.protocol !== 'https:') {
    throw new ConfigError(settings.publicUrl, 'must be an http: or https: URL');
  }
  if (publicUrl.pathname !== '/' || publicUrl.search || publicUrl.hash) {
    throw new ConfigError(settings.publicUrl, 'must be the root of a host, with no path, query or fragment');
  }
  const domain = raw.domain ?? publicUrl.host;
  if (!/^[a-z0-9.-]+(:\d{1,5})?$/i.test(domain)) throw new ConfigError(settings.domain, `"${domain}" is not a host name`);
  if (domain.toLowerCase() !== publicUrl.host.toLowerCase()) {
    throw new ConfigError(settings.domain, `"${domain}" does not match the host of PUBLIC_URL (${publicUrl.host})`);
  }
  const databaseUrl = raw.databaseUrl?.trim() || null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(settings.databaseUrl, 'must start with postgres:// or postgresql://');
  }
  const instanceName = (raw.instanceName ?? 'Square Mile').trim();
  if (!instanceName || instanceName.length > 100) throw new ConfigError(settings.instanceName, 'must be 1 to 100 characters');

  return {
    domain: domain.toLowerCase(),
    publicUrl,
    instanceName,
    host,
    port,
    databaseUrl,
    dataDir: resolve(cwd, raw.dataDir ?? 'data'),
    logLevel: oneOf(settings.logLevel, raw.logLevel ?? 'info', logLevels),
    registration: oneOf(settings.registration, raw.registration ?? 'open', registrationModes),
    bodyLimit: integer(settings.bodyLimit, raw.bodyLimit ?? String(256 * 1024), 1024, 64 * 1024 * 1024),
    allowPrivateAddresses: addressesOrBoolean(settings.allowPrivateAddresses, raw.allowPrivateAddresses ?? 'false'),
    limitedFederation: boolean(settings.limitedFederation, raw.limitedFederation ?? 'false'),
    liveHeartbeatSeconds: integer(settings.liveHeartbeatSeconds, raw.liveHeartbeatSeconds ?? '30', 1, 3600),
    liveSendBufferBytes: integer(settings.liveSendBufferBytes, raw.liveSendBufferBytes ?? String(1024 * 1024), 1024, 64 * 1024 * 1024),
    fetchTimeoutMs: integer(settings.fetchTimeoutMs, raw.fetchTimeoutMs ?? '10000', 100, 120_000),
    fetchMaxBytes: integer(settings.fetchMaxBytes, raw.fetchMaxBytes ?? String(1024 * 1024), 1024, 64 * 1024 * 1024),
    signatureWindowSeconds: integer(settings.signatureWindowSeconds, raw.signatureWindowSeconds ?? '3600', 1, 86_400),
    queueLeaseSeconds: integer(settings.queueLeaseSeconds, raw.queueLeaseSeconds ?? '300', 1, 86_400),
    queuePollMs: integer(settings.queuePollMs, raw.queuePollMs ?? '1000', 10, 60_000),
    unreachableAfterFailures: integer(settings.unreachableAfterFailures, raw.unreachableAfterFailures ?? '5', 1, 1000),
    unreachableRetrySeconds: integer(settings.unreachableRetrySeconds, raw.unreachableRetrySeconds ?? '1800', 1, 7 * 86_400),
    role: oneOf(settings.role, raw.role ?? 'all', roles),
    databaseTimeoutMs: integer(settings.databaseTimeoutMs, raw.databaseTimeoutMs ?? '5000', 100, 120_000),
    inboxMaxInFlight: integer(settings.inboxMaxInFlight, raw.inboxMaxInFlight ?? '32', 1, 10_000),
    inboxMaxBacklog: integer(settings.inboxMaxBacklog, raw.inboxMaxBacklog ?? '10000', 1, 10_000_000),
    postsPerHour: integer(settings.postsPerHour, raw.postsPerHour ?? '60', 1, 1_000_000),
    followsPerHour: integer(settings.followsPerHour, raw.followsPerHour ?? '100', 1, 1_000_000),
    remotePostsPerHour: integer(settings.remotePostsPerHour, raw.remotePostsPerHour ?? '3000', 1, 10_000_000),
    remoteFollowsPerHour: integer(settings.remoteFollowsPerHour, raw.remoteFollowsPerHour ?? '1000', 1, 10_000_000),
    maxNeighbourhoodsPerActivity: integer(settings.maxNeighbourhoodsPerActivity, raw.maxNeighbourhoodsPerActivity ?? '5', 1, 1000),
  };
}
