// The fake's address book: IPv4 addresses handed out from one range, lowest free first, each held by one key.
export class AddressBook {
  private readonly first: number;
  private readonly size: number;
  private readonly held = new Map<string, string>();
  /** Lowest offset that may be free; everything below it is taken. */
  private cursor = 1;

  constructor(cidr: string) {
    const [base = '', bits = '32'] = cidr.split('/');
    const prefix = Number(bits);
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
    this.first = (toNumber(base) & mask) >>> 0;
    this.size = 2 ** (32 - prefix);
  }

  /** The next free address (skipping the network address), held by `key`. */
  next(key: string): string {
    for (let offset = this.cursor; offset < this.size - 1; offset++) {
      const ip = toText(this.first + offset);
      if (this.held.has(ip)) continue;
      this.held.set(ip, key);
      this.cursor = offset + 1;
      return ip;
    }
    throw new Error(`the fake's address range is exhausted (${this.held.size} in use)`);
  }

  /** Takes a specific address for `key`; false when another key holds it. */
  take(ip: string, key: string): boolean {
    const holder = this.held.get(ip);
    if (holder !== undefined && holder !== key) return false;
    this.held.set(ip, key);
    return true;
  }

  holder(ip: string): string | undefined {
    return this.held.get(ip);
  }

  release(ips: readonly string[]): void {
    for (const ip of ips) {
      if (!this.held.delete(ip)) continue;
      const offset = toNumber(ip) - this.first;
      if (offset > 0 && offset < this.cursor) this.cursor = offset;
    }
  }

  get inUse(): number {
    return this.held.size;
  }
}

function toNumber(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function toText(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
