// Writes the CustomResourceDefinitions rendered from the zod schemas into deploy/crds/ and the Helm chart's crds/
// (Helm installs only files inside the chart, so the chart carries a copy; manifests.test.ts keeps them equal).
// Run after changing a schema: node scripts/gen-crds.ts   (crd.test.ts fails until the files are regenerated)
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ADDRESS_POOL_CRD_FILE } from '../providers/metal/model/crd.ts';
import { renderAddressPoolCrdYaml } from '../providers/metal/model/crd-yaml.ts';

const root = join(import.meta.dirname, '..');
for (const path of [ADDRESS_POOL_CRD_FILE, join('deploy/helm/drawbridge/crds', basename(ADDRESS_POOL_CRD_FILE))]) {
  writeFileSync(join(root, path), renderAddressPoolCrdYaml());
  console.log(`wrote ${path}`);
}
