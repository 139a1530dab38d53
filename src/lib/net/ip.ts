// Strict IP and CIDR parsing on top of ipaddr.js. ipaddr.js alone is too lenient for user input: it accepts
// `10.1` and `0x0a.0.0.1` (inet_aton forms), zone ids (`fe80::1%eth0`), and IPv4-mapped IPv6 addresses whose
// family is ambiguous. Kubernetes' strict validation rejects those too, so we only accept the unambiguous forms.
import ipaddr from 'ipaddr.js';

export type IpFamily = 'IPv4' | 'IPv6';
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export type ParsedAddress = { ok: true; address: string; family: IpFamily } | { ok: false; why: string };
export type ParsedCidr = { ok: true; cidr: string; family: IpFamily } | { ok: false; why: string };

/** Parses one IP address into its canonical text (dotted quad, or RFC 5952 for IPv6). */
export function parseAddress(text: string): ParsedAddress {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return { ok: true, address: ipaddr.IPv4.parse(text).toString(), family: 'IPv4' };
  }
  if (!ipaddr.IPv6.isValid(text)) {
    return { ok: false, why: `${JSON.stringify(text)} is not an IPv4 or IPv6 address` };
  }
  const address = ipaddr.IPv6.parse(text);
  if (address.zoneId !== undefined) {
    return { ok: false, why: `${JSON.stringify(text)} has a zone id, which has no meaning outside one host` };
  }
  if (address.isIPv4MappedAddress()) {
    return { ok: false, why: `${JSON.stringify(text)} is IPv4-mapped IPv6; write the IPv4 address instead` };
  }
  return { ok: true, address: address.toRFC5952String(), family: 'IPv6' };
}

/**
 * Parses `address/prefix` and normalises it to its network (`10.0.0.5/8` → `10.0.0.0/8`), so equal ranges compare
 * equal and clouds that reject host bits (GCE firewalls, AWS security groups) accept it.
 */
export function parseCidr(text: string): ParsedCidr {
  const [addressText, prefixText, ...extra] = text.split('/');
  if (addressText === undefined || prefixText === undefined || extra.length > 0) {
    return { ok: false, why: `${JSON.stringify(text)} is not in address/prefix form` };
  }
  const parsed = parseAddress(addressText);
  if (!parsed.ok) return parsed;
  const maxPrefix = parsed.family === 'IPv4' ? 32 : 128;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > maxPrefix) {
    return { ok: false, why: `${JSON.stringify(text)} has an invalid prefix length (want 0-${maxPrefix})` };
  }
  const network =
    parsed.family === 'IPv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${parsed.address}/${prefixText}`).toString()
      : ipaddr.IPv6.networkAddressFromCIDR(`${parsed.address}/${prefixText}`).toRFC5952String();
  return { ok: true, cidr: `${network}/${prefixText}`, family: parsed.family };
}
