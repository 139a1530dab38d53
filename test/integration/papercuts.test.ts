// Rough edges a new user met outside the controller itself: the commands the docs give for the CRD must work as
// kubectl runs them, and scripts/install-tools must survive two setups at once and keep the Go noise to itself.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadAll } from 'js-yaml';
import { manifestTools, render } from '../env/tools.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** Every `kubectl apply -f PATH` / `-k PATH` the README and docs/ tell a user to run, with where it is said. */
function applyCommands(): { flag: '-f' | '-k'; path: string; where: string }[] {
  const files = [
    'README.md',
    ...readdirSync(join(REPO, 'docs'), { recursive: true, encoding: 'utf8' }).map((f) => `docs/${f}`),
  ];
  const out: { flag: '-f' | '-k'; path: string; where: string }[] = [];
  for (const file of files.filter((f) => f.endsWith('.md'))) {
    const text = readFileSync(join(REPO, file), 'utf8');
    for (const m of text.matchAll(/kubectl apply (-[fk]) (deploy\/[\w./-]+)/g)) {
      out.push({ flag: m[1] as '-f' | '-k', path: m[2]!, where: file });
    }
  }
  return out;
}

test('every `kubectl apply` of a repository path in the docs works as kubectl runs it', async () => {
  const commands = applyCommands();
  assert.ok(
    commands.some((c) => c.path.startsWith('deploy/crds')),
    'the docs say how to install the CRD alone',
  );
  const { kustomize } = await manifestTools();
  for (const { flag, path, where } of commands) {
    const dir = join(REPO, path);
    if (flag === '-k') {
      const yaml = await render(kustomize, ['build', dir]);
      assert.match(yaml, /^kind: /m, `${where}: kubectl apply -k ${path} renders objects`);
      continue;
    }
    // kubectl apply -f DIR sends every .yaml/.yml/.json file in it to the apiserver: a kustomization.yaml is
    // refused there (its kind is no API object), so every document must be a Kubernetes object.
    const files =
      path.endsWith('/') || !/\.(ya?ml|json)$/.test(path)
        ? readdirSync(dir)
            .filter((f) => /\.(ya?ml|json)$/.test(f))
            .map((f) => join(dir, f))
        : [dir];
    assert.ok(files.length > 0, `${where}: ${path} holds manifests`);
    for (const file of files) {
      for (const doc of loadAll(readFileSync(file, 'utf8'))) {
        const object = doc as { apiVersion?: string; kind?: string } | null;
        if (!object) continue;
        assert.ok(
          object.apiVersion && object.kind && !object.apiVersion.startsWith('kustomize.config.k8s.io'),
          `${where}: kubectl apply -f ${path} would send ${file.slice(REPO.length)} (${object.kind}), which no apiserver takes`,
        );
      }
    }
  }
});

const cache = mkdtempSync(join(tmpdir(), 'install-tools-'));
after(() => rmSync(cache, { recursive: true, force: true }));

test("two install-tools at once both succeed, build each tool once, and keep go's output in a log", async () => {
  // A stand-in `go` (no module proxy needed): slow enough for the two runs to overlap, as chatty as the real one.
  const bin = join(cache, 'fake-go');
  rmSync(bin, { recursive: true, force: true });
  const go = join(bin, 'go');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    go,
    `#!/usr/bin/env bash
for i in $(seq 95); do echo "go: downloading example.com/m$i v1.0.0" >&2; done
sleep 1
name=$(basename "\${2%@*}"); [ "$name" = v5 ] && name=kustomize
echo "$name" >> "${cache}/builds"
printf '#!/bin/sh\\n' > "$GOBIN/$name"; chmod +x "$GOBIN/$name"
`,
  );
  chmodSync(go, 0o755);
  const env = { ...process.env, DRAWBRIDGE_CACHE: join(cache, 'c'), PATH: `${bin}:${process.env.PATH}` };
  const script = join(REPO, 'scripts/install-tools');
  const both = await Promise.all([run('bash', [script], { env }), run('bash', [script], { env })]);
  for (const { stdout, stderr } of both) {
    assert.deepEqual(
      stdout
        .trim()
        .split('\n')
        .map((p) => p.replace(/.*\/bin\//, '')),
      ['kustomize-v5.8.1/kustomize', 'helm-v3.22.0/helm'],
    );
    assert.doesNotMatch(stderr, /go: downloading/);
  }
  assert.deepEqual(readFileSync(join(cache, 'builds'), 'utf8').trim().split('\n').sort(), ['helm', 'kustomize']);
});
