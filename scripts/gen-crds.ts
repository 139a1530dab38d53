// Writes the CustomResourceDefinitions rendered from the zod schemas into deploy/crds/ and the Helm chart's crds/
// (Helm installs only files inside the chart, so the chart carries a copy; manifests.test.ts keeps them equal).
// Run after changing a schema: node scripts/gen-crds.ts   (crd.test.ts fails until the files are regenerated)
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { allCrdFiles } from '../providers/metal/model/crd-yaml.ts';

const root = join(import.meta.dirname, '..');
for (const { file, yaml } of allCrdFiles()) {
  for (const path of [file, join('deploy/helm/drawbridge/crds', basename(file))]) {
    writeFileSync(join(root, path), yaml);
    console.log(`wrote ${path}`);
  }
}
