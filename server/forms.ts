// Form bodies for the protocols whose clients send forms (OAuth, the Mastodon API): URL-encoded and
// multipart. Registered inside those features' scopes only; the rest of the API stays JSON.
import formbody from '@fastify/formbody';
import fp from 'fastify-plugin';
import { badRequest } from './errors.ts';

export default fp(async function forms(app) {
  await app.register(formbody);
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
