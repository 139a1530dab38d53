// The IAM policy in docs/deploying-aws.md (and the list in README.md) must name every AWS API action the provider
// sends: read from the `new <Action>Command(` calls in the provider's sources, so a new call without its
// permission fails here rather than with AccessDenied in someone's account.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const here = import.meta.dirname;
const sources = readdirSync(here).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
const called = new Set(
  sources.flatMap((f) => [...readFileSync(join(here, f), 'utf8').matchAll(/new (\w+)Command\(/g)].map((m) => m[1]!)),
);
/** EC2's actions are those of the EC2 client; every other command here is ELBv2's. */
const ec2 = new Set(
  sources.flatMap((f) =>
    [...readFileSync(join(here, f), 'utf8').matchAll(/import \{([^}]*)\} from '@aws-sdk\/client-ec2'/g)].flatMap((m) =>
      [...m[1]!.matchAll(/(\w+)Command\b/g)].map((c) => c[1]!),
    ),
  ),
);

test('the deploying guide grants every action the provider calls, in the right service', () => {
  const policy = readFileSync(join(here, '../../docs/deploying-aws.md'), 'utf8');
  assert.ok(called.size > 20 && ec2.has('DescribeInstances') && !ec2.has('CreateListener'), 'the calls were found');
  const missing = [...called].filter((a) => !policy.includes(`"${ec2.has(a) ? 'ec2' : 'elasticloadbalancing'}:${a}"`));
  assert.deepEqual(missing, []);
});

test("the README's IAM list names every action the provider calls", () => {
  const readme = readFileSync(join(here, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## IAM actions'), readme.indexOf('## Mutating calls'));
  assert.deepEqual(
    [...called].filter((a) => !new RegExp(`\\b${a}\\b`).test(section)),
    [],
  );
});
