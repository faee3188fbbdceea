// A browser with JavaScript off, over app.inject: it keeps cookies and the CSRF token of the last page.
import type { FastifyInstance } from 'fastify';

/** A cookie-keeping visitor that reads the CSRF token from the last page it loaded. */
export class Visitor {
  readonly app: FastifyInstance;
  readonly cookies = new Map<string, string>();
  csrf = '';
  headers: Record<string, string>;
  constructor(app: FastifyInstance, headers: Record<string, string> = {}) {
    this.app = app;
    this.headers = headers;
  }

  private remember(setCookie: unknown) {
    for (const line of ([] as string[]).concat((setCookie as string | string[] | undefined) ?? [])) {
      const [pair] = line.split(';');
      const [name, value] = pair!.split('=');
      if (/Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name!);
      else this.cookies.set(name!, value!);
    }
  }

  private cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(url: string) {
    const response = await this.app.inject({ url, headers: { ...this.headers, cookie: this.cookieHeader() } });
    this.remember(response.headers['set-cookie']);
    const token = /data-csrf="([^"]+)"/.exec(response.body)?.[1];
    if (token) this.csrf = token;
    return response;
  }

  async post(url: string, fields: Record<string, string>, csrf: string | null = this.csrf) {
    const body = new URLSearchParams({ ...(csrf !== null && { _csrf: csrf }), ...fields }).toString();
    const response = await this.app.inject({
      method: 'POST',
      url,
      headers: { ...this.headers, cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
      payload: body,
    });
    this.remember(response.headers['set-cookie']);
    return response;
  }

  async register(username: string) {
    await this.get('/register');
    const response = await this.post('/register', { username, password: 'a long enough password' });
    if (response.statusCode !== 303) throw new Error(`could not register: ${response.body}`);
    await this.get('/');
  }
}
