// Every document we fetch from another server goes through here: only public addresses (unless the
// instance allows private ones, all or a few, as tests do), a time limit, a size limit, and redirects checked again.
import type { webcrypto } from 'node:crypto';
import { kvCache, type KvStore, signRequest } from '@fedify/fedify';
import {
  createActivityPubRequest,
  type DocumentLoader,
  FetchError,
  getRemoteDocument,
  preloadedContexts,
  validatePublicUrl,
} from '@fedify/vocab-runtime';
import { maxNesting, nestsDeeperThan } from './nesting.ts';

export interface FetchLimits {
  /** All private addresses (true), none (false), or only these IP addresses, as URLs write them (`[::1]`). */
  allowPrivateAddresses: boolean | readonly string[];
  timeoutMs: number;
  maxBytes: number;
  userAgent: string;
}

export class FetchRefused extends FetchError {}

const maxRedirects = 5;

/** Refuses `url` if it names or resolves to a private or local address the instance does not allow. */
export async function checkAddress(url: string, allowed: FetchLimits['allowPrivateAddresses']): Promise<void> {
  if (allowed === true || (allowed !== false && allowed.includes(new URL(url).hostname))) return;
  try {
    await validatePublicUrl(url);
  } catch (error) {
    throw new FetchRefused(url, `Refusing to fetch a private or local address: ${(error as Error).message}`);
  }
}

/** Reads at most `maxBytes` of the body; longer bodies are refused rather than cut. */
async function readBounded(response: Response, url: string, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > maxBytes) throw new FetchRefused(url, `The response is larger than ${maxBytes} bytes.`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > maxBytes) throw new FetchRefused(url, `The response is larger than ${maxBytes} bytes.`);
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks);
}

/**
 * Fetches `url` with the request `prepare` builds for it (so a signed request is signed again after a
 * redirect). Resolves with a fully read, size-checked response and the URL it finally came from.
 */
export async function limitedFetch(
  url: string,
  prepare: (url: string) => Request | Promise<Request>,
  limits: FetchLimits,
  signal?: AbortSignal,
): Promise<{ response: Response; url: string }> {
  const deadline = AbortSignal.timeout(limits.timeoutMs);
  const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
  let current = url;
  for (let redirects = 0; ; redirects++) {
    await checkAddress(current, limits.allowPrivateAddresses);
    const response = await fetch(await prepare(current), { redirect: 'manual', signal: combined });
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      if (redirects >= maxRedirects) throw new FetchRefused(url, 'Too many redirects.');
      current = new URL(location, current).href;
      continue;
    }
    const body = await readBounded(response, current, limits.maxBytes);
    if (nestsDeeperThan(body)) throw new FetchRefused(current, `The document nests deeper than ${maxNesting} levels.`);
    return { response: new Response(response.status === 204 ? null : body, { status: response.status, headers: response.headers }), url: current };
  }
}

export function documentLoader(limits: FetchLimits, sign?: { keyId: URL; privateKey: webcrypto.CryptoKey }): DocumentLoader {
  const prepare = async (url: string) => {
    const request = createActivityPubRequest(url, { userAgent: limits.userAgent });
    return sign ? signRequest(request, sign.privateKey, sign.keyId) : request;
  };
  const load: DocumentLoader = async (url, options) => {
    if (url in preloadedContexts) return { contextUrl: null, document: preloadedContexts[url], documentUrl: url };
    const fetched = await limitedFetch(url, prepare, limits, options?.signal);
    return getRemoteDocument(fetched.url, fetched.response, load);
  };
  return load;
}

/** JSON-LD contexts change rarely, so they are cached; actor documents are not (keys rotate). */
export const contextLoader = (limits: FetchLimits, kv: KvStore): DocumentLoader =>
  kvCache({ loader: documentLoader(limits), kv, prefix: ['_fedify', 'context'] });
