/**
 * @module The client bundled for a browser carries no zod and no other
 * runtime dependency: the schema types it uses are type-only imports.
 */
import assert from "node:assert/strict";
import * as esbuild from "esbuild";

Deno.test("the client bundles for the browser without zod or any npm package", async () => {
  const result = await esbuild.build({
    absWorkingDir: new URL("../..", import.meta.url).pathname,
    entryPoints: ["clients/js/mod.ts"],
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  await esbuild.stop();
  const inputs = Object.keys(result.metafile.inputs);
  assert.deepEqual(inputs.filter((path) => !path.startsWith("clients/js/")), []);
  const code = result.outputFiles[0].text;
  assert.doesNotMatch(code, /zod/i);
  assert.ok(code.length < 40_000, `bundle is ${code.length} bytes`);
});
