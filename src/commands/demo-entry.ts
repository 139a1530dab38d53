// `drawbridge demo` is development tooling (a local control plane, the GCE fake, moto glue): it lives in test/demo,
// outside the product, and is loaded here by a path computed at run time, never by a static import, so nothing that
// `npm run build` ships or the image copies can reach it (test/architecture checks that). It is found:
// - in a checkout, as the TypeScript sources (test/demo/command.ts);
// - in the npm package, compiled beside the product by `npm run build:dev` (dist/test/demo/command.js; prepack runs it);
// - nowhere in the image, where `drawbridge demo` says so in one line.
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

type RegisterDemo = (program: Command) => void;

/** The dev entry point beside this file's tree (src/ or dist/src/), with this file's own extension. */
function demoEntry(): URL {
  const ext = extname(fileURLToPath(import.meta.url));
  return new URL(['..', '..', 'test', 'demo', `command${ext}`].join('/'), import.meta.url);
}

export async function registerDemoEntry(program: Command): Promise<void> {
  const entry = demoEntry();
  if (existsSync(fileURLToPath(entry))) {
    const module = (await import(entry.href)) as { registerDemo: RegisterDemo };
    module.registerDemo(program);
    return;
  }
  program
    .command('demo')
    .description('development tool: not part of this build (run it from a checkout or the npm package)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      process.stderr.write(
        'drawbridge demo: the demo is a development tool and is not in this build (the image ships only the ' +
          'controller and speaker); run it from a checkout (./scripts/demo) or the npm package\n',
      );
      process.exit(1);
    });
}
