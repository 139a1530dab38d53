// Service ports -> PortSpec[]. The apiserver already validates most of this for real Services; we re-check
// because a bad port would otherwise surface as an opaque cloud error, and the spec must be safe on its own.
import type { V1ServicePort, V1ServiceSpec } from '@kubernetes/client-node';
import type { PortSpec, Protocol } from '../../contract/spec.ts';
import { type Checked, Reason, type SpecProblem } from './reasons.ts';

const PROTOCOLS: readonly string[] = ['TCP', 'UDP', 'SCTP'] satisfies Protocol[];

export function isPortNumber(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535;
}

export function buildPorts(spec: V1ServiceSpec): Checked<PortSpec[]> {
  const ports = spec.ports ?? [];
  if (ports.length === 0) {
    return {
      value: [],
      problems: [{ path: 'spec.ports', reason: Reason.NoPorts, message: 'a load balancer needs at least one port' }],
    };
  }
  // Only `false` disables NodePorts; unset means the default (true).
  const nodePortsAllocated = spec.allocateLoadBalancerNodePorts !== false;
  const problems: SpecProblem[] = [];
  const value = ports.map((port, index) => buildPort(port, `spec.ports[${index}]`, nodePortsAllocated, problems));
  problems.push(...duplicatePorts(value), ...badPortNames(value));
  return { value, problems };
}

function buildPort(port: V1ServicePort, path: string, nodePortsAllocated: boolean, problems: SpecProblem[]): PortSpec {
  // The apiserver defaults protocol to TCP; objects built by hand (tests, `drawbridge plan` on a file) may omit it.
  const protocol = port.protocol ?? 'TCP';
  if (!PROTOCOLS.includes(protocol)) {
    problems.push({
      path: `${path}.protocol`,
      reason: Reason.UnsupportedProtocol,
      message: `protocol ${JSON.stringify(protocol)} is not one of ${PROTOCOLS.join(', ')}`,
    });
  }
  if (!isPortNumber(port.port)) {
    problems.push({
      path: `${path}.port`,
      reason: Reason.InvalidPort,
      message: `port ${JSON.stringify(port.port)} is not an integer in 1-65535`,
    });
  }
  // NodePort 0 is Go's "unset"; any 1-65535 is accepted because the apiserver's NodePort range is configurable.
  const nodePort = port.nodePort === undefined || port.nodePort === 0 ? null : port.nodePort;
  if (nodePort === null && nodePortsAllocated) {
    problems.push({
      path: `${path}.nodePort`,
      reason: Reason.InvalidNodePort,
      message: 'nodePort is missing although allocateLoadBalancerNodePorts is not false; it may not be allocated yet',
    });
  } else if (nodePort !== null && !isPortNumber(nodePort)) {
    problems.push({
      path: `${path}.nodePort`,
      reason: Reason.InvalidNodePort,
      message: `nodePort ${JSON.stringify(nodePort)} is not an integer in 1-65535`,
    });
  }
  return { name: port.name ?? '', protocol: protocol as Protocol, port: port.port, nodePort };
}

/** The apiserver rejects two ports with the same number and protocol; a cloud would reject the listener. */
function duplicatePorts(ports: PortSpec[]): SpecProblem[] {
  const firstIndex = new Map<string, number>();
  return ports.flatMap((port, index) => {
    const key = `${port.port}/${port.protocol}`;
    const first = firstIndex.get(key);
    if (first === undefined) {
      firstIndex.set(key, index);
      return [];
    }
    return [
      {
        path: `spec.ports[${index}]`,
        reason: Reason.DuplicatePort,
        message: `port ${key} is already used by spec.ports[${first}]`,
      },
    ];
  });
}

/** With more than one port, names identify ports (AWS target groups, status), so each needs a distinct one. */
function badPortNames(ports: PortSpec[]): SpecProblem[] {
  if (ports.length < 2) return [];
  const firstIndex = new Map<string, number>();
  return ports.flatMap((port, index) => {
    const path = `spec.ports[${index}].name`;
    if (port.name === '') {
      return [{ path, reason: Reason.InvalidPort, message: 'every port needs a name when a Service has several' }];
    }
    const first = firstIndex.get(port.name);
    if (first === undefined) {
      firstIndex.set(port.name, index);
      return [];
    }
    const message = `name ${JSON.stringify(port.name)} is already used by spec.ports[${first}]`;
    return [{ path, reason: Reason.InvalidPort, message }];
  });
}
