// The layering of docs/architecture.md, enforced: which folder may import which, and that nothing the product build
// compiles or the image copies reaches development tooling (test/: the demo, the local control plane, the GCE fake).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { checkEdges, importsOf, layerOf, reachable, repositoryEdges } from './layers.ts';

const root = join(import.meta.dirname, '../..');

describe('the import rules', () => {
  test('no import in src/ or providers/ crosses a layer the wrong way', () => {
    const edges = repositoryEdges(root);
    assert.ok(edges.length > 300, `read the import graph (${edges.length} edges)`);
    assert.deepEqual(
      checkEdges(edges).map((v) => `${v.from} -> ${v.to}: ${v.rule}`),
      [],
    );
  });

  test('the check fails on each kind of wrong import', () => {
    const bad = [
      { from: 'src/lib/kube/informer.ts', to: 'src/core/controller/queue.ts' },
      { from: 'src/contract/provider.ts', to: 'src/core/desired/build.ts' },
      { from: 'src/core/controller/controller.ts', to: 'providers/index.ts' },
      { from: 'src/core/controller/reconcile.ts', to: 'providers/metal/provider.ts' },
      { from: 'providers/aws/provider.ts', to: 'src/core/controller/outcome.ts' },
      { from: 'providers/aws/provider.ts', to: 'providers/gcp/names.ts' },
      { from: 'providers/metal/model/pool.ts', to: 'src/contract/spec.ts' },
      { from: 'src/speaker/speaker.ts', to: 'src/core/nodes/prober.ts' },
      { from: 'src/speaker/speaker.ts', to: 'providers/metal/provider.ts' },
      { from: 'providers/gcp/index.ts', to: 'test/fakes/gce/server.ts' },
      { from: 'src/commands/main.ts', to: 'test/demo/command.ts' },
      { from: 'src/core/controller/queue.ts', to: 'src/core/controller/queue.test.ts' },
    ];
    assert.deepEqual(
      bad.filter((edge) => checkEdges([edge]).length !== 1),
      [],
      'every one of these is reported',
    );
  });

  test('the allowed directions pass, and tests may reach any helper', () => {
    const good = [
      { from: 'src/contract/provider.ts', to: 'src/lib/service/keys.ts' },
      { from: 'src/core/controller/controller.ts', to: 'src/contract/provider.ts' },
      { from: 'providers/metal/provider.ts', to: 'providers/metal/model/pool.ts' },
      { from: 'src/speaker/table.ts', to: 'providers/metal/model/addresses.ts' },
      { from: 'src/commands/controller.ts', to: 'providers/index.ts' },
      { from: 'providers/index.ts', to: 'providers/aws/index.ts' },
      { from: 'providers/aws/provider.test.ts', to: 'test/support/moto.ts' },
    ];
    assert.deepEqual(checkEdges(good), []);
  });

  test('imports are read from every form a module can name another in', () => {
    const source = [
      "import { a } from './a.ts';",
      "import type { B } from '../b.ts';",
      "export * from './c.ts';",
      "const d = await import('./d.ts');",
      "import './e.ts';",
      "const f = new URL('./f.node', import.meta.url);",
    ].join('\n');
    assert.deepEqual(importsOf('src/x/y.ts', source), [
      'src/x/a.ts',
      'src/b.ts',
      'src/x/c.ts',
      'src/x/d.ts',
      'src/x/e.ts',
      'src/x/f.node',
    ]);
    assert.equal(layerOf('providers/metal/model/pool.ts'), 'metal-model');
  });
});

describe('what ships', () => {
  const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as {
    include: string[];
  };

  test('the product build compiles src/ and providers/ only', () => {
    assert.deepEqual(build.include, ['src', 'providers']);
  });

  test('nothing under test/ is reachable from the product', () => {
    const entries = repositoryEdges(root)
      .map((edge) => edge.from)
      .filter((path) => !path.endsWith('.test.ts'));
    const shipped = [...reachable(root, [...new Set(entries)])];
    assert.ok(shipped.includes('src/commands/main.ts') && shipped.includes('src/speaker/speaker.ts'));
    assert.deepEqual(
      shipped.filter((path) => path.startsWith('test/') || path.endsWith('.test.ts')),
      [],
    );
  });

  test('the image copies nothing from test/', () => {
    const dockerfile = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8');
    const sources = [...dockerfile.matchAll(/^COPY\s+(?!--from)(.+)$/gm)].flatMap((m) =>
      m[1]!.split(/\s+/).slice(0, -1),
    );
    assert.ok(sources.includes('src'), 'read the COPY lines');
    assert.deepEqual(
      sources.filter((source) => source.startsWith('test')),
      [],
    );
    const context = readFileSync(join(root, '.dockerignore'), 'utf8');
    assert.doesNotMatch(context, /^!test/m, 'the build context lets nothing from test/ in');
  });
});
