import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { PREFIX, readAnnotations } from './annotations.ts';

const svc = (annotations: Record<string, string>, ports = [{ name: 'https', port: 443, nodePort: 30443 }]) =>
  ({ metadata: { name: 's', annotations }, spec: { ports } }) as V1Service;
const cert = 'arn:aws:acm:us-east-1:123456789012:certificate/abc';

describe('aws listener and attribute annotations', () => {
  test('TLS: certificates, ports by name or number, the policy (ALBC default when absent)', () => {
    const { options, problems } = readAnnotations(
      svc({ [`${PREFIX}ssl-cert`]: `${cert}, ${cert}2`, [`${PREFIX}ssl-ports`]: 'https, 8443' }, [
        { name: 'https', port: 443, nodePort: 30443 },
        { name: 'alt', port: 8443, nodePort: 30444 },
      ]),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(options.tls, {
      certificates: [cert, `${cert}2`],
      ports: ['https', '8443'],
      policy: 'ELBSecurityPolicy-2016-08',
    });
  });

  test('ssl-ports naming no port or a UDP port, and ssl-ports without ssl-cert, are refused by name', () => {
    const reasons = (a: Record<string, string>, ports?: Parameters<typeof svc>[1]) =>
      readAnnotations(svc(a, ports)).problems.map((p) => p.message);
    assert.match(reasons({ [`${PREFIX}ssl-cert`]: cert, [`${PREFIX}ssl-ports`]: 'web' })[0]!, /names no port/);
    const udp = [{ name: 'dns', port: 53, nodePort: 30053, protocol: 'UDP' }];
    assert.match(reasons({ [`${PREFIX}ssl-cert`]: cert, [`${PREFIX}ssl-ports`]: '53' }, udp)[0]!, /TLS needs TCP/);
    assert.match(reasons({ [`${PREFIX}ssl-ports`]: '443' })[0]!, /ssl-ports: has no effect without .*ssl-cert/);
    assert.match(reasons({ [`${PREFIX}ssl-cert`]: 'not-an-arn' })[0]!, /not ACM or IAM certificate ARNs/);
  });

  test('proxy-protocol "*" and target-group-attributes fold into one attribute set; unknown keys are refused', () => {
    const { options, problems } = readAnnotations(
      svc({
        [`${PREFIX}proxy-protocol`]: '*',
        [`${PREFIX}target-group-attributes`]:
          'deregistration_delay.timeout_seconds=30,preserve_client_ip.enabled=false',
        [`${PREFIX}attributes`]: 'load_balancing.cross_zone.enabled=true',
        [`${PREFIX}ip-address-type`]: 'dualstack',
      }),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(options.targetGroupAttributes, {
      'deregistration_delay.timeout_seconds': '30',
      'preserve_client_ip.enabled': 'false',
      'proxy_protocol_v2.enabled': 'true',
    });
    assert.equal(options.crossZone, true);
    assert.equal(options.ipAddressType, 'dualstack');
    const bad = readAnnotations(
      svc({ [`${PREFIX}target-group-attributes`]: 'slow_start.duration_seconds=30', [`${PREFIX}proxy-protocol`]: 'x' }),
    ).problems.map((p) => p.message);
    assert.equal(bad.length, 2);
    assert.match(bad.join('\n'), /slow_start.duration_seconds" does not apply/);
    assert.match(bad.join('\n'), /only "\*"/);
  });

  test('TCP and UDP on one port with different NodePorts is refused by checkService, before any call', () => {
    const ports = [
      { name: 'a', port: 53, nodePort: 30053, protocol: 'TCP' },
      { name: 'b', port: 53, nodePort: 30054, protocol: 'UDP' },
    ];
    const { problems } = readAnnotations(svc({}, ports));
    assert.deepEqual(
      problems.map((p) => p.reason),
      ['TcpUdpNodePortMismatch'],
    );
  });
});
