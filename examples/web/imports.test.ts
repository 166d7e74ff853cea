/**
 * @module The example page imports the client as an app does, by its package name
 * (`@stowage/client`), never by a path into the repository.
 */
import assert from "node:assert/strict";

Deno.test("the example page imports the client as the package @stowage/client", async () => {
  const here = new URL(".", import.meta.url);
  const importers: string[] = [];
  for await (const entry of Deno.readDir(here)) {
    if (!entry.name.endsWith(".ts") || entry.name === "build.ts") continue;
    const text = await Deno.readTextFile(new URL(entry.name, here));
    const specifiers = [...text.matchAll(/\bfrom\s+["']([^"']+)["']/g)].map((m) => m[1]);
    assert.deepEqual(specifiers.filter((s) => s.includes("clients/")), [], entry.name);
    if (specifiers.includes("@stowage/client")) importers.push(entry.name);
  }
  assert.deepEqual(importers.sort(), ["format.test.ts", "format.ts", "main.ts", "uploads.ts"]);
  const map = JSON.parse(await Deno.readTextFile(new URL("../../import_map.json", here)));
  assert.equal(map.imports["@stowage/client"], "./clients/js/mod.ts");
});
