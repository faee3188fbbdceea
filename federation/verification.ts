// Checks on incoming signed requests that Fedify leaves to the application. Fedify verifies the signature,
// the digest, the date window and the key's owner; here we insist that the signature covers enough.

type Headers = Record<string, string | string[] | undefined>;

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/**
 * Returns why the signature covers too little of the request, or null when it is enough (or absent: an
 * unsigned request is refused later, with its own reason). A draft-cavage signature must cover the
 * request target, host, date and digest; an RFC 9421 one the method, target, authority and content digest.
 */
export function checkSignatureCoverage(headers: Headers): string | null {
  const input = first(headers['signature-input']);
  if (input) {
    const components = new Set([...input.matchAll(/"([^"]+)"/g)].map((m) => m[1]!.toLowerCase()));
    const target = ['@target-uri', '@path', '@request-target'].some((c) => components.has(c));
    const authority = components.has('@authority') || components.has('host') || components.has('@target-uri');
    if (!components.has('@method') || !target || !authority || !components.has('content-digest')) {
      return 'The signature must cover @method, the target URI, the authority and content-digest.';
    }
    return null;
  }
  const signature = first(headers.signature);
  if (!signature) return null;
  const covered = /(?:^|,)\s*headers="([^"]*)"/i.exec(signature)?.[1]?.toLowerCase().split(/\s+/) ?? ['date'];
  const needed = ['(request-target)', 'host', 'digest'];
  const dated = covered.includes('date') || covered.includes('(created)');
  if (!needed.every((h) => covered.includes(h)) || !dated) {
    return 'The signature must cover (request-target), host, date (or created) and digest.';
  }
  return null;
}
