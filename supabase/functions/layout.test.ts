/**
 * @module The CLI 3 layout of the functions: each has its own `deno.json` whose
 * imports cover every bare specifier its code (and `_shared`) imports, pinned to
 * `npm:` at the versions of the project's `import_map.json` (what the tests and
 * the local stack run); `supabase/config.toml` points each function at it; entry
 * points export `default { fetch }`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const FUNCTIONS = new URL(".", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;
const rootMap: Record<string, string> =
  JSON.parse(await Deno.readTextFile(join(ROOT, "import_map.json"))).imports;

async function functionNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(FUNCTIONS)) {
    if (entry.isDirectory && !entry.name.startsWith("_") && !entry.name.startsWith(".")) {
      names.push(entry.name);
    }
  }
  return names.sort();
}

/** Bare specifiers imported by the non-test `.ts` files under `dir`. */
async function bareImports(dir: string, found = new Set<string>()): Promise<Set<string>> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) await bareImports(path, found);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
      const text = await Deno.readTextFile(path);
      for (const m of text.matchAll(/(?:from|import)\s+"([^"]+)"/g)) {
        if (!m[1].startsWith(".") && !m[1].startsWith("node:")) found.add(m[1]);
      }
    }
  }
  return found;
}

function resolve(map: Record<string, string>, specifier: string): string | undefined {
  if (map[specifier]) return map[specifier];
  const prefix = Object.keys(map).filter((k) => k.endsWith("/") && specifier.startsWith(k))
    .sort((a, b) => b.length - a.length)[0];
  return prefix ? map[prefix] + specifier.slice(prefix.length) : undefined;
}

Deno.test("each function has a deno.json pinning every import to npm: as import_map.json does", async () => {
  const shared = await bareImports(join(FUNCTIONS, "_shared"));
  const names = await functionNames();
  assert.deepEqual(names, ["assistants", "storage"]);
  for (const name of names) {
    const config = JSON.parse(await Deno.readTextFile(join(FUNCTIONS, name, "deno.json")));
    assert.equal(config.lock, false, `${name}: no lockfile (see docs/deploy.md)`);
    for (const target of Object.values(config.imports as Record<string, string>)) {
      assert.match(target, /^npm:\/?(@[^/]+\/)?[^@/]+@\d+\.\d+\.\d+(\/|$)/, `${name}: ${target}`);
    }
    const used = await bareImports(join(FUNCTIONS, name), new Set(shared));
    for (const specifier of used) {
      const mine = resolve(config.imports, specifier);
      assert.ok(mine, `${name}/deno.json does not map "${specifier}"`);
      assert.equal(mine, resolve(rootMap, specifier), `${name}: "${specifier}" differs`);
    }
  }
});

Deno.test("config.toml points each function at its deno.json and index.ts", async () => {
  const toml = await Deno.readTextFile(join(ROOT, "supabase/config.toml"));
  for (const name of await functionNames()) {
    const section = toml.split(`[functions.${name}]`)[1]?.split(/\n\[/)[0] ?? "";
    assert.match(section, new RegExp(`import_map = "./functions/${name}/deno.json"`), name);
    assert.match(section, new RegExp(`entrypoint = "./functions/${name}/index.ts"`), name);
    assert.match(section, /verify_jwt = false/, name);
  }
  assert.doesNotMatch(toml, /import_map\.json/, "no shared import map");
});

Deno.test("entry points export default { fetch } and do not call Deno.serve", async () => {
  for (const name of await functionNames()) {
    const source = await Deno.readTextFile(join(FUNCTIONS, name, "index.ts"));
    assert.doesNotMatch(source, /Deno\.serve\(/, name);
    const entry = await import(join(FUNCTIONS, name, "index.ts"));
    assert.equal(typeof entry.default?.fetch, "function", name);
    const health = await entry.default.fetch(new Request(`http://x/${name}/openapi.json`));
    assert.equal(health.status, 200, name);
    await health.body?.cancel();
  }
});
