// One error shape for the whole API: `{ "error": <code>, "message": <human text> }`.
import type { FastifyError, FastifyInstance } from 'fastify';

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

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    let status: number;
    let code: string;
    let message = error.message;
    if (error instanceof AppError) {
      status = error.status;
      code = error.code;
      reply.headers(error.headers);
    } else if ('validation' in error && error.validation) {
      status = 400;
      code = 'invalid_request';
    } else if (error.code && fastifyClientErrors[error.code]) {
      [status, code] = fastifyClientErrors[error.code]!;
    } else if (error.statusCode === 429) {
      status = 429;
      code = 'rate_limited';
    } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
      code = 'invalid_request';
    } else {
      status = 500;
      code = 'internal_error';
      message = 'Something went wrong on our side; it has been logged.';
    }
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ status, code, reason: error.message }, 'request refused');
    return reply.status(status).type('application/json').send({ error: code, message });
  });
  app.setNotFoundHandler((request, reply) => {
    request.log.info({ url: request.url }, 'no such route');
    return reply.status(404).send({ error: 'not_found', message: `No route for ${request.method} ${request.url}.` });
  });
}
