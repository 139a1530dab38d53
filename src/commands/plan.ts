// `drawbridge plan`: what the provider would create, change or delete for the cluster as it is now, without
// changing anything. Exit 0: nothing pending; 2: changes pending; 1: it could not tell.
import type { Command } from 'commander';
import { type PlannedAction, requireCapability, TerminalError } from '../contract/provider.ts';
import { serviceKey } from '../lib/service/keys.ts';
import { addOneShotOptions, type OneShotFlags, orphansOf, withProvider } from './oneshot.ts';
import { runVerb } from './snapshot.ts';

interface PlanLine {
  service: string;
  actions: PlannedAction[];
  problems: string[];
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
  return withProvider(flags, async (session, snapshot, signal) => {
    const planOf = requireCapability(session.provider, 'plan');
    const lines: PlanLine[] = [];
    const ours = snapshot.services.filter((s) => session.reconciler.decide(s) !== 'ignore');
    const progress = progressLine(ours.length);
    for (const [i, svc] of ours.entries()) {
      const service = serviceKey(svc);
      progress(i, service);
      const decision = session.reconciler.decide(svc);
      if (decision === 'cleanUp') {
        lines.push({
          service,
          actions: [{ action: 'delete', resource: 'load balancer', name: service }],
          problems: [],
        });
      } else if (decision === 'retain') {
        lines.push({ service, actions: [], problems: ['retained: not served without --own-classless'] });
      } else {
        // The same desired state the controller would converge to.
        const desired = session.reconciler.desired(svc);
        if (!desired.ok) {
          const problems = desired.problems.map((p) => `${p.reason} ${p.path}: ${p.message}`);
          lines.push({ service, actions: [], problems });
          continue;
        }
        try {
          lines.push({ service, actions: await planOf(desired.spec, { signal }), problems: [] });
        } catch (error) {
          // What ensure would refuse (an address outside every pool): the Service's problem, not the plan's.
          if (!(error instanceof TerminalError)) throw error;
          lines.push({ service, actions: [], problems: [`${error.reason} ${error.message}`] });
        }
      }
    }
    progress(ours.length, '');
    // Load balancers whose Service is gone: the controller deletes them when it starts leading; gc does it now.
    for (const identity of (await orphansOf(session, snapshot, signal)).orphans) {
      lines.push({
        service: `${identity.namespace}/${identity.name}`,
        actions: [{ action: 'delete', resource: 'orphaned load balancer', name: identity.uid }],
        problems: [],
      });
    }
    return lines;
  });
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
