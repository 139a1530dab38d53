// `test/env/up` and `test/env/down`: one control plane for working by hand (see state.ts).
// up prints exactly one line on stdout, `export KUBECONFIG=<path>`, so `eval "$(test/env/up)"` works.
import { ensureDown, ensureUp } from './state.ts';

const say = (line: string) => console.error(`drawbridge: ${line}`);
const command = process.argv[2];
if (command === 'up') {
  const state = await ensureUp(say);
  say('stop it with test/env/down');
  console.log(`export KUBECONFIG=${state.kubeconfigPath}`);
} else if (command === 'down') {
  await ensureDown(say);
} else {
  console.error('usage: node test/env/updown.ts up|down');
  process.exit(2);
}
