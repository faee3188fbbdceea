// Form bodies for the protocols whose clients send forms (OAuth, the Mastodon API): URL-encoded and
// multipart. Registered inside those features' scopes only; the rest of the API stays JSON.
// Also refuses NUL characters anywhere in the input: PostgreSQL text cannot hold them, and a query that
// tried would fail with a server error instead of telling the client.
import formbody from '@fastify/formbody';
import fp from 'fastify-plugin';
import { badRequest } from './errors.ts';

const hasNul = (value: unknown) => value !== undefined && value !== null && JSON.stringify(value).includes('\\u0000');

export default fp(async function forms(app) {
  await app.register(formbody);
  app.addHook('preValidation', async (request) => {
    if (hasNul(request.body) || hasNul(request.query) || hasNul(request.params)) {
      throw badRequest('Text may not contain NUL characters.', 'invalid_text');
    }
  });
  // Multipart text fields (masto.js registers accounts this way). Files are not taken: there is no media yet.
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, async (request: { headers: Record<string, unknown> }, body: Buffer) => {
    let form: FormData;
    try {
      form = await new Response(body, { headers: { 'content-type': String(request.headers['content-type']) } }).formData();
    } catch {
      throw badRequest('The multipart body is not readable.', 'malformed_body');
    }
    const fields: Record<string, string | string[]> = {};
    for (const [name, value] of form) {
      if (typeof value !== 'string') throw badRequest('File uploads are not supported.', 'unsupported_media');
      const existing = fields[name];
      fields[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
    }
    return fields;
  });
});
