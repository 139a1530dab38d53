// Over 300 lines: buildSpec's cases, one or more per rule of desired/*.ts, against the one Service fixture below.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { BackendNode, LoadBalancerSpec } from '../../contract/spec.ts';
import { buildSpec, endpointNodesFromSlices } from './build.ts';

const IPS = 'drawbridge.io/load-balancer-ips';
const RANGES = 'service.beta.kubernetes.io/load-balancer-source-ranges';

/** A valid LoadBalancer Service as the apiserver would store it; `edit` changes a fresh copy. */
function service(edit: (svc: V1Service) => void = () => {}): V1Service {
  const svc: V1Service = {
    metadata: { namespace: 'shop', name: 'web', uid: '0b7c-11ee', annotations: {} },
    spec: {
      type: 'LoadBalancer',
      ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }],
      ipFamilies: ['IPv4'],
    },
  };
  edit(svc);
  return deepFreeze(svc);
}

/** Informer-cache objects must never be mutated: freezing makes any write throw (ES modules are strict). */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

const nodeA: BackendNode = { name: 'node-a', providerID: null, internalIP: '10.0.0.1', externalIP: null };
const nodeB: BackendNode = { name: 'node-b', providerID: 'gce://p/z/node-b', internalIP: '10.0.0.2', externalIP: null };

function build(svc: V1Service, nodes: BackendNode[] = [nodeB, nodeA], endpointNodes = ['node-b', 'node-a', 'node-b']) {
  return buildSpec({
    service: svc,
    nodes: deepFreeze(nodes),
    endpointNodes: deepFreeze(endpointNodes),
    clusterName: 'prod',
    loadBalancerClass: 'drawbridge.io/gcp',
    providerOptions: { opaque: true },
  });
}

function specOf(svc: V1Service): LoadBalancerSpec {
  const result = build(svc);
  assert.ok(result.ok, `expected a valid spec, got ${JSON.stringify(!result.ok && result.problems)}`);
  return result.spec;
}

function problemsOf(svc: V1Service): Array<[string, string]> {
  const result = build(svc);
  assert.ok(!result.ok, 'expected problems');
  return result.problems.map((problem) => [problem.path, problem.reason]);
}

describe('buildSpec', () => {
  test('builds the whole spec for a plain Service, with defaults filled in and nodes sorted', () => {
    assert.deepEqual(specOf(service()), {
      identity: { clusterName: 'prod', namespace: 'shop', name: 'web', uid: '0b7c-11ee' },
      loadBalancerClass: 'drawbridge.io/gcp',
      ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }],
      sessionAffinity: 'None',
      sessionAffinityTimeoutSeconds: null,
      externalTrafficPolicy: 'Cluster',
      healthCheck: { port: 10256, path: '/healthz' },
      sourceRanges: [],
      requestedAddresses: [],
      currentAddresses: [],
      ipFamilies: ['IPv4'],
      nodes: [nodeA, nodeB],
      endpointNodes: ['node-a', 'node-b'],
      providerOptions: { opaque: true },
    });
  });

  test('reports every problem at once, each with its path', () => {
    const svc = service((s) => {
      s.spec!.ports = [
        { name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 },
        { name: 'dns', protocol: 'UDP', port: 53 },
      ];
      s.spec!.loadBalancerSourceRanges = ['10.0.0.0/8', 'not-a-cidr'];
      s.metadata!.annotations = { [IPS]: '192.0.2.10, 300.1.1.1' };
    });
    assert.deepEqual(problemsOf(svc), [
      ['spec.ports[1].nodePort', 'InvalidNodePort'],
      ['spec.loadBalancerSourceRanges[1]', 'InvalidSourceRange'],
      ['metadata.annotations["drawbridge.io/load-balancer-ips"][1]', 'InvalidAnnotation'],
    ]);
  });

  test('problem messages name the offending value', () => {
    const result = build(
      service((s) => {
        s.spec!.loadBalancerSourceRanges = ['10.0.0.0/40'];
      }),
    );
    assert.ok(!result.ok);
    assert.equal(result.problems[0]?.message, '"10.0.0.0/40" has an invalid prefix length (want 0-32)');
  });

  describe('ports', () => {
    test('no ports at all is NoPorts', () => {
      assert.deepEqual(
        problemsOf(
          service((s) => {
            s.spec!.ports = [];
          }),
        ),
        [['spec.ports', 'NoPorts']],
      );
    });

    test('a missing nodePort is fine only when NodePort allocation is off', () => {
      const withoutNodePort = (allocate: boolean | undefined) =>
        service((s) => {
          s.spec!.ports = [{ name: 'http', protocol: 'TCP', port: 80 }];
          s.spec!.allocateLoadBalancerNodePorts = allocate;
        });
      assert.deepEqual(specOf(withoutNodePort(false)).ports, [
        { name: 'http', protocol: 'TCP', port: 80, nodePort: null },
      ]);
      assert.deepEqual(problemsOf(withoutNodePort(true)), [['spec.ports[0].nodePort', 'InvalidNodePort']]);
      assert.deepEqual(problemsOf(withoutNodePort(undefined)), [['spec.ports[0].nodePort', 'InvalidNodePort']]);
    });

    test('an explicit nodePort is kept even when allocation is off, and any 1-65535 is accepted', () => {
      const svc = service((s) => {
        s.spec!.allocateLoadBalancerNodePorts = false;
        s.spec!.ports = [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 8080 }];
      });
      assert.equal(specOf(svc).ports[0]?.nodePort, 8080);
    });

    test('bad numbers, protocols and names are reported per field', () => {
      const svc = service((s) => {
        s.spec!.ports = [
          { name: 'a', protocol: 'TCP', port: 0, nodePort: 30001 },
          { name: 'a', protocol: 'HTTP', port: 81, nodePort: 70000 },
          { protocol: 'TCP', port: 82, nodePort: 30003 },
        ];
      });
      assert.deepEqual(problemsOf(svc), [
        ['spec.ports[0].port', 'InvalidPort'],
        ['spec.ports[1].protocol', 'UnsupportedProtocol'],
        ['spec.ports[1].nodePort', 'InvalidNodePort'],
        ['spec.ports[1].name', 'InvalidPort'],
        ['spec.ports[2].name', 'InvalidPort'],
      ]);
    });

    test('the same port twice with one protocol is a problem; TCP and UDP on one port is not', () => {
      const svc = (second: string) =>
        service((s) => {
          s.spec!.ports = [
            { name: 'dns-tcp', protocol: 'TCP', port: 53, nodePort: 30053 },
            { name: 'dns-2', protocol: second, port: 53, nodePort: 30054 },
          ];
        });
      assert.deepEqual(problemsOf(svc('TCP')), [['spec.ports[1]', 'DuplicatePort']]);
      assert.deepEqual(
        specOf(svc('UDP')).ports.map((p) => `${p.port}/${p.protocol}`),
        ['53/TCP', '53/UDP'],
      );
    });

    test('protocol defaults to TCP and a single port may be unnamed', () => {
      const svc = service((s) => {
        s.spec!.ports = [{ port: 443, nodePort: 30443 }];
      });
      assert.deepEqual(specOf(svc).ports, [{ name: '', protocol: 'TCP', port: 443, nodePort: 30443 }]);
    });
  });

  describe('session affinity', () => {
    test('ClientIP takes its timeout from sessionAffinityConfig, defaulting to 3 hours', () => {
      const svc = (timeoutSeconds?: number) =>
        service((s) => {
          s.spec!.sessionAffinity = 'ClientIP';
          if (timeoutSeconds !== undefined) s.spec!.sessionAffinityConfig = { clientIP: { timeoutSeconds } };
        });
      assert.equal(specOf(svc(600)).sessionAffinityTimeoutSeconds, 600);
      assert.equal(specOf(svc()).sessionAffinityTimeoutSeconds, 10800);
      assert.equal(specOf(svc()).sessionAffinity, 'ClientIP');
      assert.deepEqual(problemsOf(svc(86401)), [
        ['spec.sessionAffinityConfig.clientIP.timeoutSeconds', 'InvalidSessionAffinity'],
      ]);
    });

    test('an unknown affinity is a problem', () => {
      assert.deepEqual(
        problemsOf(
          service((s) => {
            s.spec!.sessionAffinity = 'Cookie';
          }),
        ),
        [['spec.sessionAffinity', 'InvalidSessionAffinity']],
      );
    });
  });

  describe('external traffic policy', () => {
    test('Local health-checks the Service healthCheckNodePort', () => {
      const spec = specOf(
        service((s) => {
          s.spec!.externalTrafficPolicy = 'Local';
          s.spec!.healthCheckNodePort = 32100;
        }),
      );
      assert.equal(spec.externalTrafficPolicy, 'Local');
      assert.deepEqual(spec.healthCheck, { port: 32100, path: '/healthz' });
    });

    test('Local without a healthCheckNodePort, or an unknown policy, is a problem', () => {
      assert.deepEqual(
        problemsOf(
          service((s) => {
            s.spec!.externalTrafficPolicy = 'Local';
          }),
        ),
        [['spec.healthCheckNodePort', 'InvalidHealthCheckNodePort']],
      );
      assert.deepEqual(
        problemsOf(
          service((s) => {
            s.spec!.externalTrafficPolicy = 'Global';
          }),
        ),
        [['spec.externalTrafficPolicy', 'InvalidTrafficPolicy']],
      );
    });
  });

  describe('source ranges', () => {
    test('are normalised to their network and deduplicated', () => {
      const svc = service((s) => {
        s.spec!.loadBalancerSourceRanges = ['10.0.0.5/8', ' 10.0.0.0/8', '2001:DB8::1/32', '192.0.2.7/32'];
      });
      assert.deepEqual(specOf(svc).sourceRanges, ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7/32']);
    });

    test('come from the annotation only when the spec field is empty', () => {
      const fromAnnotation = service((s) => {
        s.metadata!.annotations = { [RANGES]: '172.16.1.1/12, 192.0.2.0/24,' };
      });
      assert.deepEqual(specOf(fromAnnotation).sourceRanges, ['172.16.0.0/12', '192.0.2.0/24']);
      const both = service((s) => {
        s.metadata!.annotations = { [RANGES]: '172.16.0.0/12' };
        s.spec!.loadBalancerSourceRanges = ['198.51.100.0/24'];
      });
      assert.deepEqual(specOf(both).sourceRanges, ['198.51.100.0/24']);
    });

    test('a malformed annotation entry is reported with its index', () => {
      const svc = service((s) => {
        s.metadata!.annotations = { [RANGES]: '10.0.0.0/8,10.1/16,1.2.3.4' };
      });
      assert.deepEqual(problemsOf(svc), [
        ['metadata.annotations["service.beta.kubernetes.io/load-balancer-source-ranges"][1]', 'InvalidSourceRange'],
        ['metadata.annotations["service.beta.kubernetes.io/load-balancer-source-ranges"][2]', 'InvalidSourceRange'],
      ]);
    });
  });

  describe('addresses', () => {
    test('requested addresses merge spec.loadBalancerIP and the annotation, normalised and deduplicated', () => {
      const svc = service((s) => {
        s.spec!.ipFamilies = ['IPv4', 'IPv6'];
        s.spec!.loadBalancerIP = '192.0.2.10';
        s.metadata!.annotations = { [IPS]: '2001:0DB8::0001, 192.0.2.10,198.51.100.4' };
      });
      assert.deepEqual(specOf(svc).requestedAddresses, ['192.0.2.10', '2001:db8::1', '198.51.100.4']);
    });

    test('an unusable spec.loadBalancerIP is InvalidLoadBalancerIP', () => {
      for (const ip of ['192.0.2', '0.0.0.0', 'fe80::1%eth0', '::ffff:192.0.2.1']) {
        assert.deepEqual(
          problemsOf(
            service((s) => {
              s.spec!.loadBalancerIP = ip;
            }),
          ),
          [['spec.loadBalancerIP', 'InvalidLoadBalancerIP']],
          ip,
        );
      }
    });

    test('current addresses come from status, skipping hostnames', () => {
      const svc = service((s) => {
        s.status = { loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example.com' }] } };
      });
      assert.deepEqual(specOf(svc).currentAddresses, ['203.0.113.9']);
    });
  });

  test('ipFamilies default to IPv4 and are passed through when set', () => {
    assert.deepEqual(specOf(service((s) => delete s.spec!.ipFamilies)).ipFamilies, ['IPv4']);
    assert.deepEqual(
      specOf(
        service((s) => {
          s.spec!.ipFamilies = ['IPv6', 'IPv4'];
        }),
      ).ipFamilies,
      ['IPv6', 'IPv4'],
    );
    assert.deepEqual(
      problemsOf(
        service((s) => {
          s.spec!.ipFamilies = ['IPv5'];
        }),
      ),
      [['spec.ipFamilies[0]', 'InvalidIpFamily']],
    );
  });

  test("the provider's options are carried through unopened", () => {
    assert.deepEqual(specOf(service(() => {})).providerOptions, { opaque: true });
  });

  test('a requested address of a family the Service lacks is AddressFamilyConflict, naming both', () => {
    const v6OnV4 = service((s) => {
      s.spec!.ipFamilies = ['IPv4'];
      s.spec!.loadBalancerIP = 'fd00:10::5';
    });
    assert.deepEqual(problemsOf(v6OnV4), [['spec.loadBalancerIP', 'AddressFamilyConflict']]);
    const built = build(v6OnV4);
    assert.ok(!built.ok && /fd00:10::5 is an IPv6 address.*\[IPv4\]/.test(built.problems[0]!.message));
    const v4OnV6 = service((s) => {
      s.spec!.ipFamilies = ['IPv6'];
      s.metadata!.annotations = { 'drawbridge.io/load-balancer-ips': '192.0.2.7' };
    });
    assert.deepEqual(problemsOf(v4OnV6), [
      ['metadata.annotations["drawbridge.io/load-balancer-ips"]', 'AddressFamilyConflict'],
    ]);
    const dual = service((s) => {
      s.spec!.ipFamilies = ['IPv4', 'IPv6'];
      s.metadata!.annotations = { 'drawbridge.io/load-balancer-ips': '192.0.2.7,fd00:10::5' };
    });
    assert.deepEqual(specOf(dual).requestedAddresses, ['192.0.2.7', 'fd00:10::5']);
  });

  test('a Service without uid cannot get a deterministic cloud name', () => {
    assert.deepEqual(problemsOf(service((s) => delete s.metadata!.uid)), [['metadata.uid', 'MissingMetadata']]);
  });
});

describe('endpointNodesFromSlices', () => {
  test('lists nodes with a ready endpoint; unset ready counts as ready', () => {
    const slices: V1EndpointSlice[] = [
      {
        addressType: 'IPv4',
        endpoints: [
          { addresses: ['10.1.0.1'], nodeName: 'node-c', conditions: { ready: true } },
          { addresses: ['10.1.0.2'], nodeName: 'node-a' },
          { addresses: ['10.1.0.3'], nodeName: 'node-b', conditions: { ready: false, serving: true } },
          { addresses: ['10.1.0.4'], conditions: { ready: true } },
        ],
      },
      { addressType: 'IPv4', endpoints: [{ addresses: ['10.1.0.5'], nodeName: 'node-c' }] },
    ];
    assert.deepEqual(endpointNodesFromSlices(deepFreeze(slices)), ['node-a', 'node-c']);
  });
});
