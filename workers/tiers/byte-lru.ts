/** LRU map bounded by the total `size` of its values (bytes). */
export class ByteLru<V extends { size: number }> {
  private readonly map = new Map<string, V>();
  private total = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.total;
  }

  get entries(): number {
    return this.map.size;
  }

  /** Returns the value and marks it most recently used. */
  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  peek(key: string): V | undefined {
    return this.map.get(key);
  }

  /** Stores the value (a value larger than the whole budget is not kept). */
  set(key: string, value: V): void {
    this.delete(key);
    if (value.size > this.maxBytes) return;
    this.map.set(key, value);
    this.total += value.size;
    while (this.total > this.maxBytes) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }

  delete(key: string): boolean {
    const value = this.map.get(key);
    if (value === undefined) return false;
    this.map.delete(key);
    this.total -= value.size;
    return true;
  }

  /** Deletes every entry whose key matches. */
  deleteWhere(predicate: (key: string, value: V) => boolean): void {
    for (const [key, value] of [...this.map]) if (predicate(key, value)) this.delete(key);
  }
}
