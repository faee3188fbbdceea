// Helpers every page route shares: the page context for a request, sending a page, and form outcomes.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';
import { csrfToken } from './csrf.ts';
import { localeOf } from './format.ts';
import type { Html } from './html.ts';
import type { PageContext } from './layout.ts';

/**
 * No inline script or style anywhere, so an injected one cannot run even if escaping were ever missed.
 * Forms lead only to this site, unless a page names other places its form may end up (OAuth's consent).
 */
export const contentSecurityPolicy = (formTargets: string[] = []) => [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' https: data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  ["form-action 'self'", ...formTargets].join(' '),
].join('; ');

export function context(request: FastifyRequest, reply: FastifyReply): PageContext {
  const { config } = request.server;
  return {
    instanceName: config.instanceName,
    domain: config.domain,
    viewer: request.viewer,
    csrf: csrfToken(request, reply),
    locale: localeOf(request),
    path: request.method === 'GET' ? request.url : '/',
  };
}

export function send(reply: FastifyReply, rendered: { status: number; html: Html }) {
  return reply.status(rendered.status).type('text/html; charset=utf-8').header('cache-control', 'private, no-store').send(rendered.html.text);
}

/** Runs a domain call from a form; a refusal becomes the message to show beside the form, anything else propagates. */
export async function attempt<T>(run: () => Promise<T>): Promise<{ value: T; error?: undefined } | { value?: undefined; error: AppError }> {
  try {
    return { value: await run() };
  } catch (error) {
    if (error instanceof AppError) return { error };
    throw error;
  }
}

/** After a successful POST, the browser goes to a page it can reload safely. */
export const seeOther = (reply: FastifyReply, location: string) => reply.redirect(location, 303);

/** Only paths on this site, so a login link cannot send someone elsewhere. */
export const localPath = (next: string | undefined) => (next && /^\/(?![/\\])/.test(next) && !/[\\\r\n]/.test(next) ? next : '/');

export const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1, maximum: 2147483647 } } } as const;

/** Every posted form carries the CSRF token; other fields are declared by each route. */
export function formBody<P extends Record<string, object>>(properties: P, required: (keyof P & string)[] = []) {
  return {
    type: 'object',
    required: ['_csrf', ...required],
    properties: { _csrf: { type: 'string', maxLength: 200 }, preview: { type: 'string', maxLength: 10 }, ...properties },
  } as const;
}

export const text = (maxLength: number) => ({ type: 'string', maxLength }) as const;
