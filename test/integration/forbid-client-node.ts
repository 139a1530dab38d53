// `node --import ./forbid-client-node.ts ...`: any runtime import of @kubernetes/client-node fails, and says who
// imported it on stderr (FORBIDDEN_IMPORT ...), so a dynamic import whose failure is caught is still seen.
// Type-only imports are erased before resolution and never reach this hook.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === '@kubernetes/client-node' || specifier.startsWith('@kubernetes/client-node/')) {
      process.stderr.write(`FORBIDDEN_IMPORT ${specifier} from ${context.parentURL}\n`);
      throw new Error(`${specifier} must not be loaded here (imported from ${context.parentURL})`);
    }
    return nextResolve(specifier, context);
  },
});
