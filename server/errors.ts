// One error shape for the whole API: `{ "error": <code>, "message": <human text> }`.
import type { FastifyError, FastifyInstance } from 'fastify';
import { isDatabaseUnavailable } from './availability.ts';

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export const badRequest = (message: string, code = 'invalid_request') => new AppError(400, code, message);
export const unauthorized = (message = 'Sign in first.') => new AppError(401, 'unauthorized', message);
export const forbidden = (message: string, code = 'forbidden') => new AppError(403, code, message);
export const notFound = (what: string) => new AppError(404, 'not_found', `${what} was not found.`);
export const conflict = (message: string, code = 'conflict') => new AppError(409, code, message);
export const tooManyRequests = (message: string, retryAfterSeconds: number) =>
  new AppError(429, 'rate_limited', message, { 'retry-after': String(retryAfterSeconds) });

/** Fastify's own client-error codes, with the code and status our API reports for each. */
const fastifyClientErrors: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'malformed_json'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'malformed_json'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'body_too_large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid_content_length'],
  FST_ERR_CTP_INVALID_TYPE: [400, 'invalid_request'],
};

export const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

/** The status, code and message any thrown error is reported with; shared by every error shape we speak. */
export function describeError(error: FastifyError | AppError): { status: number; code: string; message: string } {
  if (error instanceof AppError) return { status: error.status, code: error.code, message: error.message };
  if ('validation' in error && error.validation) return { status: 400, code: 'invalid_request', message: error.message };
  if (error.code && fastifyClientErrors[error.code]) {
    const [status, code] = fastifyClientErrors[error.code]!;
    return { status, code, message: error.message };
  }
  // The database going away is our trouble, but a passing one: the client may try again shortly.
  if (isDatabaseUnavailable(error)) return { status: 503, code: 'database_unavailable', message: 'The database is not reachable; try again shortly.' };
  if (error.statusCode === 429) return { status: 429, code: 'rate_limited', message: error.message };
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, code: 'invalid_request', message: error.message };
  }
  return { status: 500, code: 'internal_error', message: 'Something went wrong on our side; it has been logged.' };
}

export type ErrorDescription = ReturnType<typeof describeError>;

/**
 * Answers every error thrown in `app` (and the plugins under it) with `shape`'s status and body; protocols
 * with their own error shape (OAuth, the Mastodon API) install this in their own scope.
 */
export function handleErrors(
  app: FastifyInstance,
  shape: (error: ErrorDescription) => { status: number; body: object } = (e) => ({ status: e.status, body: { error: e.code, message: e.message } }),
): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const described = describeError(error);
    if (error instanceof AppError) reply.headers(error.headers);
    else if (described.status === 503) reply.header('retry-after', '5');
    if (described.status === 503) request.log.warn({ reason: error.message }, 'request refused: unavailable');
    else if (described.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ status: described.status, code: described.code, reason: error.message }, 'request refused');
    const { status, body } = shape(described);
    return reply.status(status).type('application/json').send(body);
  });
}

export function installErrorHandling(app: FastifyInstance): void {
  handleErrors(app);
  app.setNotFoundHandler((request, reply) => {
    request.log.info({ url: request.url }, 'no such route');
    return reply.status(404).send({ error: 'not_found', message: `No route for ${request.method} ${request.url}.` });
  });
}
