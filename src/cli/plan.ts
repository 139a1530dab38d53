// `drawbridge plan`: what the provider would create, change or delete for the cluster as it is now, without
// changing anything. Exit 0: nothing pending; 2: changes pending; 1: it could not tell.
import { type Command, Option } from 'commander';
import { providerNames } from '../../providers/index.ts';
import { type PlannedAction, requireCapability } from '../../providers/provider.ts';
import { buildSpec, endpointNodesFromSlices } from '../desired/build.ts';
import { serviceKey } from '../desired/keys.ts';
import { eligibleNodes } from '../nodes/eligibility.ts';
import { openProvider } from './oneshot.ts';
import { addProviderOptions, providerConfigFrom } from './provider-flags.ts';
import { loadKubeConfigOrFail, runVerb, takeSnapshot } from './snapshot.ts';

export interface OneShotFlags {
  provider: string;
  kubeconfig?: string;
  clusterName: string;
  loadBalancerClass?: string;
  ownClassless?: boolean;
  providerConfig?: string;
  [providerFlag: string]: unknown;
}

interface PlanLine {
  service: string;
  actions: PlannedAction[];
  problems: string[];
}

export function addOneShotOptions(command: Command): Command {
  command
    .addOption(new Option('--provider <name>', 'provider adapter').choices([...providerNames]).makeOptionMandatory())
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--cluster-name <name>', 'cluster name the controller runs with', 'drawbridge')
    .option('--load-balancer-class <class>', 'loadBalancerClass served (default: drawbridge.io/<provider>)')
    .option('--own-classless', 'as the controller: also own Services with no loadBalancerClass');
  return addProviderOptions(command);
}

export function registerPlan(program: Command): void {
  const command = program
    .command('plan')
    .description('Show what the provider would create, change or delete now (exit 2 when changes are pending)')
    .option('-o, --output <format>', 'table or json', 'table');
  addOneShotOptions(command).action((flags: OneShotFlags & { output: string }) =>
    runVerb('plan', async () => {
      const lines = await plan(flags);
      const pending = lines.filter((l) => l.actions.length > 0);
      if (flags.output === 'json') process.stdout.write(`${JSON.stringify(lines, null, 2)}\n`);
      else process.stdout.write(formatPlan(lines));
      return pending.length > 0 ? 2 : 0;
    }),
  );
}

async function plan(flags: OneShotFlags): Promise<PlanLine[]> {
  const kubeConfig = loadKubeConfigOrFail(flags.kubeconfig);
  const providerConfig = providerConfigFrom(flags.provider, flags);
  const snapshot = await takeSnapshot(kubeConfig, false);
  const abort = new AbortController();
  const session = await openProvider(
    {
      provider: flags.provider,
      providerConfig,
      clusterName: flags.clusterName,
      loadBalancerClass: flags.loadBalancerClass,
      ownClassless: Boolean(flags.ownClassless),
    },
    kubeConfig,
    snapshot,
    abort.signal,
  );
  try {
    const planOf = requireCapability(session.provider, 'plan');
    const nodes = eligibleNodes(snapshot.nodes);
    const lines: PlanLine[] = [];
    const ours = snapshot.services.filter((s) => session.reconciler.decide(s) !== 'ignore');
    const progress = progressLine(ours.length);
    for (const [i, svc] of ours.entries()) {
      progress(i, serviceKey(svc));
      const decision = session.reconciler.decide(svc);
      if (decision === 'cleanUp') {
        lines.push({
          service: serviceKey(svc),
          actions: [{ action: 'delete', resource: 'load balancer', name: serviceKey(svc) }],
          problems: [],
        });
        continue;
      }
      if (decision === 'retain') {
        lines.push({
          service: serviceKey(svc),
          actions: [],
          problems: ['retained: not served without --own-classless'],
        });
        continue;
      }
      const check = session.provider.checkService(svc);
      const built = buildSpec({
        service: svc,
        nodes,
        endpointNodes: endpointNodesFromSlices(
          snapshot.slices.filter(
            (s) =>
              s.metadata?.namespace === svc.metadata?.namespace &&
              s.metadata?.labels?.['kubernetes.io/service-name'] === svc.metadata?.name,
          ),
        ),
        clusterName: session.settings.clusterName,
        loadBalancerClass: session.settings.loadBalancerClass,
        providerOptions: check.options,
      });
      const problems = [...(built.ok ? [] : built.problems), ...check.problems].map(
        (p) => `${p.reason} ${p.path}: ${p.message}`,
      );
      const actions = built.ok && problems.length === 0 ? await planOf(built.spec, { signal: abort.signal }) : [];
      lines.push({ service: serviceKey(svc), actions, problems });
    }
    progress(ours.length, '');
    // Load balancers whose Service is gone: the controller deletes them when it starts leading; gc does it now.
    const present = new Set(snapshot.services.map((s) => s.metadata?.uid ?? ''));
    for (const identity of await session.provider.listOwned({ signal: abort.signal })) {
      if (present.has(identity.uid)) continue;
      lines.push({
        service: `${identity.namespace}/${identity.name}`,
        actions: [{ action: 'delete', resource: 'orphaned load balancer', name: identity.uid }],
        problems: [],
      });
    }
    return lines;
  } finally {
    abort.abort();
    await session.stop();
  }
}

/** A progress line on stderr while observing (a terminal sees it update in place; a log sees a few lines). */
function progressLine(total: number): (done: number, current: string) => void {
  const tty = process.stderr.isTTY;
  let last = 0;
  return (done, current) => {
    if (tty) {
      process.stderr.write(`\r\x1b[Kobserving ${done}/${total}${current ? ` ${current}` : ''}`);
      if (done === total) process.stderr.write('\r\x1b[K');
    } else if (done === total || Date.now() - last > 2000) {
      last = Date.now();
      process.stderr.write(`observing ${done}/${total}\n`);
    }
  };
}

function formatPlan(lines: PlanLine[]): string {
  const out: string[] = [];
  for (const line of lines) {
    if (line.actions.length === 0 && line.problems.length === 0) continue;
    out.push(line.service);
    for (const a of line.actions)
      out.push(`  ${symbol(a.action)} ${a.resource} ${a.name}${a.detail ? ` (${a.detail})` : ''}`);
    for (const p of line.problems) out.push(`  ! ${p}`);
  }
  const pending = lines.filter((l) => l.actions.length > 0).length;
  out.push(
    pending === 0
      ? 'No changes: every load balancer matches its Service.'
      : `${pending} Service(s) with changes pending.`,
  );
  return `${out.join('\n')}\n`;
}

function symbol(action: PlannedAction['action']): string {
  return action === 'create' ? '+' : action === 'delete' ? '-' : '~';
}
