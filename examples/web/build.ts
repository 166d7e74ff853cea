/**
 * @module Builds the example page into `examples/web/dist/` (served by the
 * local stack at `/examples/web/`): bundles main.ts and the client for the
 * browser with esbuild, copies index.html and style.css.
 *
 * The page imports the client as an app does, `from "@stowage/client"`; the
 * repository's import map says where that is (`./clients/js/mod.ts`, the
 * package's sources), and the build resolves it the same way.
 *
 * `deno run -A examples/web/build.ts` (add `--watch` to rebuild on change).
 */
import * as esbuild from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
/** The package name the page imports the client by. */
const CLIENT = "@stowage/client";

/** Resolves `@stowage/client` as the repository's import map does. */
async function clientAlias(): Promise<esbuild.Plugin> {
  const map = JSON.parse(await Deno.readTextFile(join(root, "import_map.json"))) as {
    imports: Record<string, string>;
  };
  const target = map.imports[CLIENT];
  if (!target) throw new Error(`Cannot build the example: import_map.json has no "${CLIENT}"`);
  const path = join(root, target);
  return {
    name: "stowage-client",
    setup(build) {
      build.onResolve({ filter: /^@stowage\/client$/ }, () => ({ path }));
    },
  };
}
/** Where the page is written. */
export const DIST = join(here, "dist");

/**
 * Bundles the page. Type-only imports (the client's zod schema types) vanish;
 * the bundle has no runtime dependency.
 * @returns the bundle's size in bytes
 */
export async function buildExample(options: { watch?: boolean } = {}): Promise<number> {
  await Deno.mkdir(DIST, { recursive: true });
  for (const file of ["index.html", "style.css"]) {
    await Deno.copyFile(join(here, file), join(DIST, file));
  }
  const config: esbuild.BuildOptions = {
    entryPoints: [join(here, "main.ts")],
    outfile: join(DIST, "main.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    sourcemap: true,
    minify: false,
    logLevel: "warning",
    metafile: true,
    plugins: [await clientAlias()],
  };
  if (options.watch) {
    const ctx = await esbuild.context(config);
    await ctx.watch();
    return 0;
  }
  const result = await esbuild.build(config);
  await esbuild.stop();
  const out = Object.values(result.metafile?.outputs ?? {}).find((o) => o.entryPoint);
  return out?.bytes ?? 0;
}

if (import.meta.main) {
  const watch = Deno.args.includes("--watch");
  const bytes = await buildExample({ watch });
  console.log(watch ? `watching; writing ${DIST}` : `built ${DIST} (main.js ${bytes} bytes)`);
}
