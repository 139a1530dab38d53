// A self-signed serving certificate made at start, so /metrics is HTTPS by default with no cert-manager or
// openssl in the image. Node 24's crypto generates keys and signs but cannot build an X.509 certificate (its
// X509Certificate only parses), so this file DER-encodes the few ASN.1 structures a certificate needs.
// Scrapers of such an endpoint skip verification (Prometheus' `insecure_skip_verify`, as with controller-runtime's
// generated certificate); an operator who wants a verifiable chain passes --metrics-cert-dir.

import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface ServingCertificate {
  /** PEM. */
  cert: string;
  /** PEM, PKCS#8. */
  key: string;
}

/** An ECDSA P-256 certificate for `hosts` (DNS names or IP addresses), valid from an hour ago for a year. */
export function generateSelfSigned(commonName: string, hosts: string[], now = new Date()): ServingCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
  const notBefore = new Date(now.getTime() - 3600_000); // tolerate a scraper's clock a little behind ours
  const notAfter = new Date(now.getTime() + 365 * 86400_000);
  const altNames = hosts.map((h) => (isIP(h) ? tlv(0x87, ipBytes(h)) : tlv(0x82, Buffer.from(h, 'ascii'))));
  const extensions = [
    // basicConstraints: not a CA (critical, as RFC 5280 asks of end-entity certificates that carry it).
    seq(oid('2.5.29.19'), tlv(0x01, Buffer.from([0xff])), octets(seq())),
    // keyUsage: digitalSignature (ECDHE key agreement signs with the key).
    seq(oid('2.5.29.15'), tlv(0x01, Buffer.from([0xff])), octets(tlv(0x03, Buffer.from([0x07, 0x80])))),
    // extKeyUsage: serverAuth.
    seq(oid('2.5.29.37'), octets(seq(oid('1.3.6.1.5.5.7.3.1')))),
    // subjectAltName: what clients that do verify match against (CN is ignored by modern TLS clients).
    seq(oid('2.5.29.17'), octets(seq(...altNames))),
  ];
  const serial = randomBytes(16);
  // A positive INTEGER whose first byte is not 0: DER forbids a leading 0x00 before a byte below 0x80, and OpenSSL
  // refuses such a certificate ("illegal padding"), which a random first byte of 0 made happen 1 time in 256.
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ecdsaWithSha256,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value, as X.509 wants it
  const der = seq(tbs, ecdsaWithSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return {
    cert: pem('CERTIFICATE', der),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

// ---- DER, just enough of it.

function tlv(tag: number, body: Buffer): Buffer {
  const n = body.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const octets = (body: Buffer) => tlv(0x04, body);

function integer(bytes: Buffer): Buffer {
  // A leading 1 bit would make it negative: prefix a zero byte.
  return tlv(0x02, (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const base128: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) base128.unshift((v & 0x7f) | 0x80);
    out.push(...base128);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime until 2049, GeneralizedTime after, as RFC 5280 requires. */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`, 'ascii'))
    : tlv(0x18, Buffer.from(`${iso}Z`, 'ascii'));
}

/** 4 bytes for IPv4, 16 for IPv6 (embedded-IPv4 forms such as `::ffff:10.0.0.1` included), as a SAN iPAddress. */
function ipBytes(ip: string): Buffer {
  return Buffer.from(ipaddr.parse(ip).toByteArray());
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${b64.join('\n')}\n-----END ${label}-----\n`;
}
