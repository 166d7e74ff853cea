/**
 * @module The pinned Supabase CLI (3.1) accepts `supabase/` without a warning,
 * checked without Docker and without the network (inside `unshare -n`, a network
 * namespace with no interface up, so nothing can leave the machine):
 * - `supabase db push --dry-run` parses config.toml (an unknown or obsolete key,
 *   or flag, is a `WARN`/`Warning` line) and stops at the database connection;
 * - `supabase functions deploy --use-api --yes` against a made-up project with a
 *   made-up token discovers the functions from config.toml and collects each
 *   one's files (its own deno.json, index.ts, `_shared`) before its first upload
 *   fails with `TransportError`.
 * Any line saying warn, deprecated or obsolete fails the test. Skipped where
 * `unshare -n` is not available (not root): never run these commands with a network.
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;
const CLI = join(ROOT, "tools/node_modules/.bin/supabase");
const WARNING = /\bwarn(ing)?\b|deprecat|obsolete/i;

function isolated(): boolean {
  try {
    return new Deno.Command("unshare", { args: ["-n", "true"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}
const canIsolate = isolated();

/** Runs the CLI with no network, a throw-away HOME and a made-up access token. */
async function cli(workdir: string, home: string, args: string[]): Promise<string> {
  const out = await new Deno.Command("unshare", {
    args: ["-n", CLI, ...args, "--workdir", workdir],
    cwd: workdir,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: home,
      NO_COLOR: "1",
      SUPABASE_TELEMETRY_DISABLED: "1",
      SUPABASE_ACCESS_TOKEN: "sbp_0000000000000000000000000000000000000000",
    },
    stdin: "null",
  }).output();
  return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
}

/** A copy of the project's `supabase/` folder (no local state) in a temp dir. */
async function copyProject(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "stowage-cli-check-" });
  const tar = new Deno.Command("tar", {
    args: [
      "-C",
      ROOT,
      "--exclude",
      "supabase/.temp",
      "--exclude",
      "supabase/.branches",
      "-cf",
      "-",
      "supabase",
    ],
    stdout: "piped",
  }).spawn();
  const untar = new Deno.Command("tar", { args: ["-C", dir, "-xf", "-"], stdin: "piped" }).spawn();
  await tar.stdout.pipeTo(untar.stdin);
  assert.ok((await tar.status).success && (await untar.status).success);
  return dir;
}

Deno.test({
  name: "supabase db push --dry-run parses config.toml without a warning (and sees a bad key)",
  ignore: !canIsolate,
  async fn() {
    const dir = await copyProject();
    const home = await Deno.makeTempDir();
    try {
      const out = await cli(dir, home, ["db", "push", "--dry-run"]);
      assert.match(out, /DRY RUN/, out);
      assert.match(out, /failed to connect to postgres/, out);
      assert.doesNotMatch(out, WARNING, out);
      // The check can see a problem: an unknown key is reported as a warning.
      await Deno.writeTextFile(
        join(dir, "supabase/config.toml"),
        '\n[functions.storage_typo]\nimport_maps = "x"\n',
        { append: true },
      );
      assert.match(await cli(dir, home, ["db", "push", "--dry-run"]), WARNING);
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "supabase functions deploy --use-api finds both functions and their own deno.json, no warning",
  ignore: !canIsolate,
  async fn() {
    const dir = await copyProject();
    const home = await Deno.makeTempDir();
    try {
      const out = await cli(dir, home, [
        "functions",
        "deploy",
        "--use-api",
        "--yes",
        "--remote=abcdefghijklmnopqrst",
      ]);
      assert.match(out, /Deploy 2 Functions/, out);
      for (const name of ["assistants", "storage"]) {
        for (const file of ["deno.json", "index.ts", "app.ts"]) {
          assert.ok(
            out.includes(`Uploading asset (${name}): supabase/functions/${name}/${file}`),
            `${name}/${file} not collected:\n${out}`,
          );
        }
        assert.ok(out.includes(`Uploading asset (${name}): supabase/functions/_shared/auth.ts`));
      }
      assert.doesNotMatch(out, /import_map\.json/, "no shared import map is used");
      assert.doesNotMatch(out, /\.test\.ts/, "tests are not part of a function's graph");
      assert.match(out, /TransportError/, "nothing reached a network");
      assert.doesNotMatch(out, WARNING, out);
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(home, { recursive: true });
    }
  },
});
