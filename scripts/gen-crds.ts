// Writes the CustomResourceDefinitions rendered from the zod schemas into deploy/crds/.
// Run after changing a schema: node scripts/gen-crds.ts   (crd.test.ts fails until the files are regenerated)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADDRESS_POOL_CRD_FILE, renderAddressPoolCrdYaml } from '../providers/metal/pools/crd.ts';

const root = join(import.meta.dirname, '..');
const path = join(root, ADDRESS_POOL_CRD_FILE);
writeFileSync(path, renderAddressPoolCrdYaml());
console.log(`wrote ${ADDRESS_POOL_CRD_FILE}`);
