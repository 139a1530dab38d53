import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { createSecureContext } from 'node:tls';
import { generateSelfSigned } from './selfsigned.ts';

test('generates a self-signed serving certificate Node itself parses and verifies', () => {
  const now = new Date('2030-01-02T03:04:05Z');
  const { cert, key } = generateSelfSigned('drawbridge-metrics', ['localhost', '127.0.0.1', 'fd00::1'], now);
  const x = new X509Certificate(cert);
  assert.equal(x.subject, 'CN=drawbridge-metrics');
  assert.equal(x.issuer, x.subject);
  assert.ok(x.verify(x.publicKey), 'signed by its own key');
  assert.ok(x.checkPrivateKey(createPrivateKey(key)), 'the key matches');
  assert.equal(x.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:FD00:0:0:0:0:0:0:1');
  assert.equal(x.checkHost('localhost'), 'localhost');
  assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(x.ca, false);
  assert.equal(new Date(x.validFrom).toISOString(), '2030-01-02T02:04:05.000Z');
  assert.equal(new Date(x.validTo).toISOString(), '2031-01-02T03:04:05.000Z');
  assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1']);
});

test('dates from 2050 on are GeneralizedTime and still parse', () => {
  const x = new X509Certificate(generateSelfSigned('x', ['localhost'], new Date('2060-06-01T00:00:00Z')).cert);
  assert.equal(new Date(x.validTo).toISOString(), '2061-06-01T00:00:00.000Z');
});

test('every certificate loads: the random serial never gets a DER-illegal leading zero (was 1 in 256)', () => {
  for (let i = 0; i < 2000; i++) {
    const { cert, key } = generateSelfSigned('drawbridge', ['localhost', '127.0.0.1']);
    assert.doesNotThrow(() => createSecureContext({ cert, key }), `certificate ${i}`);
  }
});

test('IPv6 SANs with an embedded IPv4 part are written as the 16 bytes they name', () => {
  const x = new X509Certificate(generateSelfSigned('x', ['::ffff:10.0.0.1', '2001:db8::1']).cert);
  assert.equal(x.subjectAltName, 'IP Address:0:0:0:0:0:FFFF:A00:1, IP Address:2001:DB8:0:0:0:0:0:1');
  assert.equal(x.checkIP('2001:db8::1'), '2001:db8::1');
});
