// deploy/Dockerfile, linted without hadolint (a Haskell program, not installable from the
// registries these machines reach): the hadolint rules that matter for this image, plus checks that it copies
// what exists and what .dockerignore lets through, and everything the build compiles. File checks; no apiserver
// (test/integration/image.test.ts builds and runs it).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const dockerfile = readFileSync(`${repo}deploy/Dockerfile`, 'utf8');
// Instructions with their continuation lines joined, comments dropped.
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'))
  .map((l) => {
    const [op = '', ...rest] = l.split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(' ') };
  });
const stages = instructions.reduce<Array<typeof instructions>>((acc, i) => {
  if (i.op === 'FROM') acc.push([]);
  acc.at(-1)?.push(i);
  return acc;
}, []);
const final = stages.at(-1) ?? [];
// The bases are build arguments (ARG before the first FROM): a FROM naming one resolves to its default, the image a
// build elsewhere uses.
const baseArgs = new Map(
  instructions
    .slice(
      0,
      instructions.findIndex((i) => i.op === 'FROM'),
    )
    .filter((i) => i.op === 'ARG')
    .map((i) => i.args.split('=') as [string, string]),
);
const fromImage = (stage: typeof instructions) =>
  (stage[0]?.args.split(' ')[0] ?? '').replace(/^\$\{(\w+)\}$/, (_, name: string) => baseArgs.get(name) ?? '');

test('multi-stage, Node 24 from pinned tags, slim runtime', () => {
  assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
  const engines = JSON.parse(readFileSync(`${repo}package.json`, 'utf8')).engines.node as string;
  for (const stage of stages) {
    const image = fromImage(stage);
    assert.match(image, /^node:24-[a-z0-9.-]+$/, `${image}: Node 24 with an explicit tag (hadolint DL3006/DL3007)`);
  }
  assert.match(engines, /24/);
  assert.match(fromImage(final), /-slim\b/, 'the runtime stage is the slim image');
  assert.deepEqual(
    [...baseArgs.keys()],
    ['BUILD_BASE', 'RUNTIME_BASE'],
    'both bases can be replaced (scripts/image-base)',
  );
});

test('the runtime runs as a non-root user with an exec-form entrypoint', () => {
  const user = final.filter((i) => i.op === 'USER').at(-1)?.args;
  assert.ok(user, 'the final stage sets USER (hadolint DL3002)');
  assert.doesNotMatch(user, /^(0|root)(:|$)/);
  const entrypoint = final.find((i) => i.op === 'ENTRYPOINT')?.args ?? '';
  assert.doesNotThrow(() => JSON.parse(entrypoint), 'ENTRYPOINT in JSON form, so signals reach node (DL3025)');
});

test('hadolint rules: COPY not ADD, absolute WORKDIR, no sudo, no apt-get without --no-install-recommends', () => {
  for (const { op, args } of instructions) {
    assert.notEqual(op, 'ADD', 'COPY, not ADD (DL3020)');
    if (op === 'WORKDIR') assert.match(args, /^\//, 'absolute WORKDIR (DL3000)');
    if (op === 'RUN') {
      assert.doesNotMatch(args, /\bsudo\b/, 'DL3004');
      if (/apt-get install/.test(args)) assert.match(args, /--no-install-recommends/, 'DL3015');
      assert.doesNotMatch(args, /\bcd\s/, 'WORKDIR, not cd (DL3003)');
    }
  }
});

test('every file it copies from the context exists and passes .dockerignore; the build includes the speaker addon', () => {
  const ignore = readFileSync(`${repo}.dockerignore`, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1).replace(/\/$/, ''));
  for (const { op, args } of instructions) {
    if (op !== 'COPY' || args.startsWith('--from')) continue;
    const sources = args.split(/\s+/).slice(0, -1);
    for (const source of sources) {
      assert.ok(existsSync(repo + source), `${source} exists`);
      assert.ok(
        ignore.some((allowed) => source === allowed || source.startsWith(`${allowed}/`)),
        `${source} is let through by .dockerignore`,
      );
    }
  }
  assert.match(dockerfile, /build-native/, 'the build stage builds the packet-socket addon');
  const addon = /DRAWBRIDGE_PACKET_SOCKET_ADDON=(\S+)/.exec(dockerfile)?.[1];
  assert.ok(addon, 'the runtime tells the speaker where its addon is');
  assert.ok(
    final.some((i) => i.op === 'COPY' && i.args.endsWith(addon.replace('/app/', ''))),
    'and copies it exactly there',
  );
});

test('the build stage copies every file `npm run build` compiles or copies', async () => {
  const build = stages[0] ?? [];
  const copied = build
    .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  const covered = (file: string) => copied.some((source) => file === source || file.startsWith(`${source}/`));
  // tsc's own list of what it compiles (sources and everything they import), relative to the repository.
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [`${repo}node_modules/typescript/bin/tsc`, '-p', `${repo}tsconfig.build.json`, '--listFilesOnly'],
    { maxBuffer: 16 << 20 },
  );
  const compiled = stdout
    .split('\n')
    .filter((f) => f.startsWith(repo) && !f.includes('/node_modules/'))
    .map((f) => f.slice(repo.length));
  assert.ok(compiled.includes('src/commands/main.ts'), 'tsc lists the CLI');
  assert.deepEqual(
    compiled.filter((f) => f.startsWith('test/')),
    [],
    'the product build compiles nothing under test/',
  );
  assert.deepEqual(
    [...compiled, 'tsconfig.build.json', 'scripts/stamp-build.ts'].filter((f) => !covered(f)),
    [],
    'files the image build needs but does not copy',
  );
});
