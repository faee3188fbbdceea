// Fedify sends deliveries with the global fetch and no deadline of its own, so a server that accepts the
// connection and never answers would hold a queue worker for minutes. Every outgoing fetch of this process
// gets a deadline instead (our own fetches already have a shorter one); past it the delivery fails and
// Fedify schedules a retry like any other failure.
let installed = false;

export function boundOutgoingFetches(timeoutMs: number): void {
  if (installed) return;
  installed = true;
  const unbounded = globalThis.fetch;
  globalThis.fetch = (input: string | URL | Request, init?: RequestInit) => {
    const own = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    const deadline = AbortSignal.timeout(timeoutMs);
    return unbounded(input, { ...init, signal: own ? AbortSignal.any([own, deadline]) : deadline });
  };
}
