// A Map bounded to `capacity` keys that forgets the least recently used first: a Map iterates in insertion order, so
// re-inserting a key on each use keeps the oldest first, and eviction is O(1). (client-go bounds its Event caches
// the same way, at 4,096.)
export class LruMap<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value, without marking it used. */
  peek(key: K): V | undefined {
    return this.#entries.get(key);
  }

  /** Stores the value as the most recently used, evicting the least recently used beyond capacity. */
  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value as K);
  }

  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  values(): IterableIterator<V> {
    return this.#entries.values();
  }
}
