// TLS listeners (ssl-cert, ssl-ports, ssl-negotiation-policy): what a listener's TLS settings are compared on, and
// the certificates beyond the default one (AddListenerCertificates), read only when a Service lists more than one.
import {
  AddListenerCertificatesCommand,
  DescribeListenerCertificatesCommand,
  type DescribeListenerCertificatesCommandOutput,
  type Listener,
  RemoveListenerCertificatesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Sender } from './clients.ts';
import type { DesiredPort } from './desired.ts';

/** The listener protocol a desired port asks for. */
export const listenerProtocol = (p: DesiredPort) => (p.tls ? 'TLS' : p.protocol);

/** The TLS parameters of CreateListener/ModifyListener for a port (none for a plain one). */
export const tlsParams = (p: DesiredPort) =>
  p.tls ? { SslPolicy: p.tls.policy, Certificates: [{ CertificateArn: p.tls.certificates[0]! }] } : {};

/** Whether an existing listener's TLS settings differ from the port's. */
export function tlsDiffers(l: Listener, p: DesiredPort): boolean {
  if (!p.tls) return false;
  const cert =
    l.Certificates?.find((c) => c.IsDefault !== false)?.CertificateArn ?? l.Certificates?.[0]?.CertificateArn;
  return l.SslPolicy !== p.tls.policy || cert !== p.tls.certificates[0];
}

/** The certificates after the first, as the listener's extra (SNI) certificates; true when any changed. */
export async function syncExtraCertificates(
  clients: Sender,
  listenerArn: string,
  p: DesiredPort,
  signal: AbortSignal,
): Promise<boolean> {
  const want = p.tls?.certificates.slice(1) ?? [];
  if (want.length === 0) return false;
  const res = await clients.send<DescribeListenerCertificatesCommandOutput>(
    'elbv2',
    new DescribeListenerCertificatesCommand({ ListenerArn: listenerArn }),
    signal,
  );
  const have = (res.Certificates ?? []).filter((c) => !c.IsDefault).map((c) => c.CertificateArn!);
  const add = want.filter((c) => !have.includes(c));
  const remove = have.filter((c) => !want.includes(c));
  if (add.length) {
    const Certificates = add.map((CertificateArn) => ({ CertificateArn }));
    await clients.send('elbv2', new AddListenerCertificatesCommand({ ListenerArn: listenerArn, Certificates }), signal);
  }
  if (remove.length) {
    const Certificates = remove.map((CertificateArn) => ({ CertificateArn }));
    await clients.send(
      'elbv2',
      new RemoveListenerCertificatesCommand({ ListenerArn: listenerArn, Certificates }),
      signal,
    );
  }
  return add.length + remove.length > 0;
}
