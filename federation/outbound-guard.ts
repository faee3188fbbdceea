// Fedify sends deliveries with the global fetch and no deadline of its own, so a server that accepts the
// connection and never answers would hold a queue worker for minutes. Every outgoing fetch of this process
// gets a deadline instead (our own fetches already have a shorter one); past it the delivery fails and
// Fedify schedules a retry like any other failure.
// Fedify also follows a delivery's redirects itself, one global fetch per hop, without asking where they
// lead: so each fetch is checked against the private-address policy here, as our own fetches are, and a
// fetch that would let the runtime follow redirects unseen is not allowed to follow them.
import { checkAddress, type FetchLimits } from './fetching.ts';

let installed = false;

export function guardOutgoingFetches(limits: Pick<FetchLimits, 'timeoutMs' | 'allowPrivateAddresses'>): void {
  if (installed) return;
  installed = true;
  const unguarded = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const request = input instanceof Request ? input : undefined;
    await checkAddress(request?.url ?? String(input), limits.allowPrivateAddresses);
    const own = init?.signal ?? request?.signal;
    const deadline = AbortSignal.timeout(limits.timeoutMs);
    const unseenRedirects = limits.allowPrivateAddresses !== true && (init?.redirect ?? request?.redirect ?? 'follow') === 'follow';
    return unguarded(input, { ...init, signal: own ? AbortSignal.any([own, deadline]) : deadline, ...(unseenRedirects && { redirect: 'error' }) });
  };
}
