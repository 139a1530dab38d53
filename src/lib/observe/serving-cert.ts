// The metrics endpoint's certificate: the operator's (tls.crt/tls.key in --metrics-cert-dir, e.g. a mounted
// cert-manager Secret, the names controller-runtime uses) or, when none is given, one generated at start.
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { generateSelfSigned, type ServingCertificate } from './selfsigned.ts';

export async function servingCertificate(certDir: string | undefined): Promise<ServingCertificate> {
  if (certDir !== undefined) {
    const [cert, key] = await Promise.all([
      readFile(join(certDir, 'tls.crt'), 'utf8'),
      readFile(join(certDir, 'tls.key'), 'utf8'),
    ]);
    return { cert, key };
  }
  return generateSelfSigned('drawbridge-metrics', [hostname(), 'localhost', '127.0.0.1', '::1']);
}
