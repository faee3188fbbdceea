// A map kept within a total weight (roughly, the memory its values hold) and a number of entries, for
// what a process keeps in memory of what the database holds. Past either bound, the entries set longest
// ago go first; `get(key, true)` counts as setting again, for a cache that keeps what is read most recently.
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, { value: V; weight: number }>();
  readonly #weightAtMost: number;
  readonly #entriesAtMost: number;
  #weight = 0;

  constructor(bounds: { weightAtMost?: number; entriesAtMost?: number }) {
    this.#weightAtMost = bounds.weightAtMost ?? Infinity;
    this.#entriesAtMost = bounds.entriesAtMost ?? Infinity;
  }

  get(key: K, refresh = false): V | undefined {
    const entry = this.#entries.get(key);
    if (entry && refresh) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry?.value;
  }

  /** Keeps `value` in place of what `key` held; one heavier than the whole bound is not kept at all. */
  set(key: K, value: V, weight = 0): void {
    this.delete(key);
    if (weight > this.#weightAtMost) return;
    while (this.#entries.size >= this.#entriesAtMost || this.#weight + weight > this.#weightAtMost) {
      this.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(key, { value, weight });
    this.#weight += weight;
  }

  delete(key: K): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#weight -= entry.weight;
  }
}
