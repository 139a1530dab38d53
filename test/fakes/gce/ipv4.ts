// IPv4 arithmetic for the fake's external address range (no dependency: four octets are enough).

export function toInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function toIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** Usable host addresses of a CIDR (network and broadcast addresses excluded). */
export function hostRange(cidr: string): { first: number; last: number } {
  const [base, bits] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  const network = Math.floor(toInt(base) / size) * size;
  return { first: network + 1, last: network + size - 2 };
}

export function inRange(ip: string, range: { first: number; last: number }): boolean {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return false;
  const n = toInt(ip);
  return n >= range.first && n <= range.last;
}
