// JSON nested deeper than any real activity is refused before anything parses it: the JSON-LD processor
// recurses once per level, and a few thousand levels overflow the stack and take the process down.

/** Deepest nesting of objects and arrays accepted in an activity or a fetched document. */
export const maxNesting = 64;

/** Whether `bytes` (JSON text) nests objects or arrays deeper than `limit`; a scan, no parsing or recursion. */
export function nestsDeeperThan(bytes: Uint8Array, limit = maxNesting): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === 0x5c) i++; // a backslash escapes the next character
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > limit) return true;
    } else if (byte === 0x7d || byte === 0x5d) depth--;
  }
  return false;
}
