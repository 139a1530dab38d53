// `node --import ./forbid-client-node.ts ...`: any runtime import of @kubernetes/client-node fails, and says who
// imported it on stderr (FORBIDDEN_IMPORT ...), so a dynamic import whose failure is caught is still seen.
// DRAWBRIDGE_FORBID_IMPORTS forbids more, comma separated: a name forbids exactly that specifier, a name ending in
// `/` every subpath too (`zod,zod/,prom-client`: no zod at all, and prom-client only by its modules' paths).
// Type-only imports are erased before resolution and never reach this hook.
import { registerHooks } from 'node:module';

const more = (process.env.DRAWBRIDGE_FORBID_IMPORTS ?? '').split(',').filter((s) => s !== '');

function forbidden(specifier: string): boolean {
  if (specifier === '@kubernetes/client-node' || specifier.startsWith('@kubernetes/client-node/')) return true;
  return more.some((name) => (name.endsWith('/') ? specifier.startsWith(name) : specifier === name));
}

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (forbidden(specifier)) {
      process.stderr.write(`FORBIDDEN_IMPORT ${specifier} from ${context.parentURL}\n`);
      throw new Error(`${specifier} must not be loaded here (imported from ${context.parentURL})`);
    }
    return nextResolve(specifier, context);
  },
});
