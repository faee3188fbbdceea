// What every feature's routes share: the instance's dependencies on the Fastify instance and the signed-in viewer.
import type { Config } from './config.ts';
import type { Database } from './database.ts';
import type { SignInLimits, Viewer } from './accounts/domain.ts';
import { badRequest, unauthorized } from './errors.ts';

declare module 'fastify' {
  interface FastifyInstance {
    db: Database;
    config: Config;
    signInLimits: SignInLimits;
  }
  interface FastifyRequest {
    viewer: Viewer | null;
  }
}

export function requireViewer(viewer: Viewer | null): Viewer {
  if (!viewer) throw unauthorized();
  return viewer;
}

/** Cursor pagination shared by every list: `limit` (1–100, default 20) and an opaque `cursor`. */
export const pageQuerySchema = {
  limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  cursor: { type: 'string', maxLength: 200 },
} as const;

export const dateTime = { type: 'string', format: 'date-time' } as const;
export const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] }) as const;

export interface Cursor {
  sort: string | number;
  id: number;
}

export const encodeCursor = (cursor: Cursor) => Buffer.from(JSON.stringify([cursor.sort, cursor.id])).toString('base64url');

export function decodeCursor(text: string | undefined): Cursor | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && ['string', 'number'].includes(typeof value[0]) && Number.isInteger(value[1])) {
      if (typeof value[0] === 'string' && Number.isNaN(Date.parse(value[0]))) throw new Error('bad date');
      return { sort: value[0], id: value[1] };
    }
  } catch {
    // falls through to the error below
  }
  throw badRequest('That cursor is not one this server gave out.', 'invalid_cursor');
}

/** True when any string inside `value` holds U+0000, which PostgreSQL text cannot store. */
export function containsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  for (const [key, item] of Object.entries(value)) if (key.includes('\u0000') || containsNul(item, depth + 1)) return true;
  return false;
}

/** Query parameters that place a listing around a point, shared by every list that can sort by distance. */
export const pointQuerySchema = {
  latitude: { type: 'number', minimum: -90, maximum: 90 },
  longitude: { type: 'number', minimum: -180, maximum: 180 },
  withinMetres: { type: 'number', exclusiveMinimum: 0, maximum: 20_100_000 },
} as const;
