/**
 * @module The client bundled for a browser carries no zod: the schema types it
 * uses are type-only imports. Its one runtime dependency is tus-js-client
 * (resumable uploads), in its browser build with that build's own few packages.
 */
import assert from "node:assert/strict";
import * as esbuild from "esbuild";

/** The npm packages the browser bundle may hold: tus-js-client and its browser dependencies. */
const ALLOWED = ["tus-js-client", "js-base64", "url-parse", "requires-port", "querystringify"];

function packageOf(path: string): string | null {
  const m = path.match(/node_modules\/((?:@[^/]+\/)?[^/.][^/]*)\/(?!.*node_modules\/)/);
  return m ? m[1] : null;
}

Deno.test("the client bundles for the browser without zod; its only npm package is tus-js-client", async () => {
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
  const outside = inputs.filter((path) => !path.startsWith("clients/js/"));
  const packages = [...new Set(outside.map(packageOf))].sort();
  assert.deepEqual(packages.filter((p) => !ALLOWED.includes(p ?? "")), []);
  assert.ok(packages.includes("tus-js-client"));
  assert.ok(
    outside.every((p) => !p.includes("tus-js-client/") || !/\/lib\.esm\/node\//.test(p)),
    "the browser build of tus-js-client, not the Node one",
  );
  const code = result.outputFiles[0].text;
  assert.doesNotMatch(code, /zod/i);
  const [output] = Object.values(result.metafile.outputs);
  const own = Object.entries(output.inputs)
    .filter(([path]) => path.startsWith("clients/js/"))
    .reduce((n, [, i]) => n + i.bytesInOutput, 0);
  assert.ok(own < 45_000, `the client's own code is ${own} bytes`);
  assert.ok(code.length < 160_000, `bundle is ${code.length} bytes`);
});
