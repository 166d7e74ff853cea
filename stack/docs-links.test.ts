/**
 * @module The documentation cannot point at nothing: every relative link in
 * README.md, docs/*.md and the client package's README resolves to a file of
 * the repository (and to a heading, when it names one), and every `deno task X`
 * and `npm run X` / `npm start|test` they name is a task of deno.json or a
 * script of package.json.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The Markdown files checked: the README, every docs/*.md, the package's README. */
async function markdownFiles(): Promise<string[]> {
  const files = [join(ROOT, "README.md"), join(ROOT, "clients/js/npm/README.md")];
  for await (const entry of Deno.readDir(join(ROOT, "docs"))) {
    if (entry.isFile && entry.name.endsWith(".md")) files.push(join(ROOT, "docs", entry.name));
  }
  return files.sort();
}

/** Markdown without its fenced code blocks and inline code (links there are not links). */
function prose(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens, -1/-2 for repeats. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const withoutCode = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  for (const [, heading] of withoutCode.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/<[^>]+>/g, "");
    const base = text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every `[text](target)` and `<a href>` target of a Markdown text, outside code. */
export function links(markdown: string): string[] {
  const text = prose(markdown);
  const found = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
  found.push(...[...text.matchAll(/href="([^"]+)"/g)].map((m) => m[1]));
  found.push(...[...text.matchAll(/^\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]));
  return found;
}

/** `deno task X` and npm script names in a Markdown text (code blocks included). */
export function commands(markdown: string): { deno: string[]; npm: string[] } {
  const deno = [...markdown.matchAll(/\bdeno task (?:-q |--quiet )?([a-z][\w:-]*)/g)].map((m) =>
    m[1]
  );
  const npm = [
    ...[...markdown.matchAll(/\bnpm run ([a-z][\w:-]*)/g)].map((m) => m[1]),
    ...[...markdown.matchAll(/\bnpm (start|test|stop|restart)\b/g)].map((m) => m[1]),
  ];
  return { deno, npm };
}

Deno.test("anchors are GitHub's", () => {
  const a = anchors("# A title\n## The `x` API: y -> z\n## A title\n```\n# not a heading\n```\n");
  assert.deepEqual([...a], ["a-title", "the-x-api-y---z", "a-title-1"]);
});

Deno.test("every relative link in README.md and docs/ resolves to a file and heading", async () => {
  const broken: string[] = [];
  const headings = new Map<string, Set<string>>();
  const headingsOf = async (file: string) => {
    if (!headings.has(file)) headings.set(file, anchors(await Deno.readTextFile(file)));
    return headings.get(file)!;
  };
  const files = await markdownFiles();
  let checked = 0;
  for (const file of files) {
    const name = relative(ROOT, file);
    for (const target of links(await Deno.readTextFile(file))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:...
      checked++;
      const [path, anchor] = target.split("#", 2);
      const resolved = path ? join(dirname(file), decodeURIComponent(path)) : file;
      if (!resolved.startsWith(ROOT)) {
        broken.push(`${name}: ${target} leaves the repository`);
        continue;
      }
      let stat: Deno.FileInfo;
      try {
        stat = await Deno.stat(resolved);
      } catch {
        broken.push(`${name}: ${target} -> no such file ${relative(ROOT, resolved)}`);
        continue;
      }
      if (anchor && stat.isFile && resolved.endsWith(".md")) {
        if (!(await headingsOf(resolved)).has(anchor)) {
          broken.push(`${name}: ${target} -> no heading #${anchor} in ${relative(ROOT, resolved)}`);
        }
      }
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(checked > 20, `only ${checked} links found: is the link parser broken?`);
});

Deno.test("every deno task and npm script the docs name exists", async () => {
  const deno = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const pkg = JSON.parse(await Deno.readTextFile(join(ROOT, "package.json")));
  const tasks = new Set(Object.keys(deno.tasks ?? {}));
  const scripts = new Set(Object.keys(pkg.scripts ?? {}));
  const missing: string[] = [];
  for (const file of await markdownFiles()) {
    const named = commands(await Deno.readTextFile(file));
    const where = relative(ROOT, file);
    for (const t of named.deno) if (!tasks.has(t)) missing.push(`${where}: deno task ${t}`);
    for (const s of named.npm) if (!scripts.has(s)) missing.push(`${where}: npm script ${s}`);
  }
  assert.deepEqual(missing, []);
});
