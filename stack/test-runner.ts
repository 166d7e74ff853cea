/**
 * @module The test command's runner: starts a fresh stack of its own (free
 * ports, its own folder under `.stack-test/`), runs the Deno tests (unit and
 * integration, with STOWAGE_CREDENTIALS pointing at the stack) and the pgTAP
 * files with pg_prove, stops the stack even when a test fails, and ends with
 * one line `N passed, N failed, N skipped` over all runners.
 *
 * Arguments are passed to `deno test` (e.g. a path to run only some files).
 *
 * A full run (no arguments) then runs {@link LEGACY_OFF_FILES} a second time
 * against a stack whose legacy API keys are disabled (`STOWAGE_LEGACY_KEYS=off`),
 * as a project created today may be; `STOWAGE_LEGACY_OFF_PASS=0` skips that pass,
 * `STOWAGE_LEGACY_OFF_ONLY=1` runs only it (CI can run it as a job of its own).
 * `STOWAGE_LEGACY_KEYS=off deno task test <files>` runs any files in that mode.
 */
import { join, resolve } from "node:path";
import postgres from "postgres";
import { type SpawnedStack, spawnStack } from "./spawn.ts";
import { readCredentials } from "./credentials.ts";
import { descendants, stopProcesses } from "./process-tree.ts";

const projectDir = resolve(new URL("..", import.meta.url).pathname);

/**
 * The files run again against a stack with legacy keys disabled: the keys
 * themselves, uploads, listing and admin (backends with the secret key).
 */
export const LEGACY_OFF_FILES = [
  "tests/integration/auth-keys.test.ts",
  "tests/integration/storage-uploads.test.ts",
  "tests/integration/storage-listing.test.ts",
  "tests/integration/storage-admin.test.ts",
];

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}
const total: Tally = { passed: 0, failed: 0, skipped: 0 };
const lines: string[] = [];

function add(name: string, t: Tally): void {
  total.passed += t.passed;
  total.failed += t.failed;
  total.skipped += t.skipped;
  lines.push(`${name}: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`);
}

/** How long one runner may take before it is killed and counted as failed (default 40 min). */
const RUNNER_TIMEOUT_MS = Number(Deno.env.get("STOWAGE_TEST_TIMEOUT_MS") ?? 40 * 60_000);

/**
 * Runs a command, echoing its output, and returns the output. A command that
 * outlives {@link RUNNER_TIMEOUT_MS} is killed (a hung test must not eat CI's time).
 */
async function run(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; text: string; timedOut: boolean }> {
  const child = new Deno.Command(cmd, {
    args,
    env,
    cwd: projectDir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>, out: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      await out.write(chunk);
    }
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    console.error(
      `\n${cmd} ${args[0]}: still running after ${RUNNER_TIMEOUT_MS / 60_000} min, killed`,
    );
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, RUNNER_TIMEOUT_MS);
  await Promise.all([pump(child.stdout, Deno.stdout), pump(child.stderr, Deno.stderr)]);
  const { code } = await child.status;
  clearTimeout(timer);
  return { code, text, timedOut };
}

/** Parses deno test's closing line, e.g. `ok | 4 passed (2 steps) | 0 failed | 1 ignored (137ms)`. */
export function parseDenoSummary(text: string): Tally | undefined {
  const m = text.match(
    /^(ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \| (\d+) ignored)?/m,
  );
  if (!m) return undefined;
  return { passed: Number(m[2]), failed: Number(m[3]), skipped: Number(m[4] ?? 0) };
}

/**
 * Counts the per-test lines of deno test's output, for a run that ended without
 * its closing line (killed, or crashed); at least one failure is reported.
 */
export function parsePartialDeno(text: string): Tally {
  const passed = (text.match(/^.+ \.\.\. ok \(/gm) ?? []).length;
  const failed = (text.match(/^.+ \.\.\. FAILED/gm) ?? []).length;
  const skipped = (text.match(/^.+ \.\.\. ignored/gm) ?? []).length;
  return { passed, failed: Math.max(failed, 1), skipped };
}

/** Counts TAP results from `pg_prove --verbose` output. */
export function parseTap(text: string): Tally {
  let passed = 0, failed = 0, skipped = 0;
  for (const line of text.split("\n")) {
    if (/^\s*ok \d+.*# SKIP/i.test(line)) skipped++;
    else if (/^\s*ok \d+/.test(line)) passed++;
    else if (/^\s*not ok \d+/.test(line)) failed++;
  }
  return { passed, failed, skipped };
}

/** A line that opens a server-side failure: the Storage double's 500s, a function's 5xx. */
const SERVER_ERROR = /storage-api: internal error|^\[[a-z_]+\] /;

/**
 * The server-side failures in a stack's logs, each with the lines that follow it (its
 * cause and stack), at most `max` of them: what a failed CI run must print before the
 * stack's folder, and its logs, are removed with the clean clone.
 */
export function serverErrorExcerpt(text: string, max = 20, context = 8): string[] {
  const lines = text.split("\n");
  const blocks: string[] = [];
  for (let i = 0; i < lines.length && blocks.length < max; i++) {
    if (!SERVER_ERROR.test(lines[i])) continue;
    blocks.push(lines.slice(i, i + 1 + context).join("\n"));
    i += context;
  }
  return blocks;
}

/** Prints the server-side failures logged in a stack's folder (stack output, functions). */
async function printServerErrors(dir: string): Promise<void> {
  for (const name of ["stack.out", "functions.log"]) {
    const text = await Deno.readTextFile(join(dir, name)).catch(() => "");
    const blocks = serverErrorExcerpt(text);
    if (!blocks.length) continue;
    console.log(`\n== server-side errors in ${name} (first ${blocks.length})`);
    for (const block of blocks) console.log(block + "\n--");
  }
}

async function runPgTap(credentialsPath: string, env: Record<string, string>): Promise<void> {
  const testsDir = join(projectDir, "supabase/tests/database");
  let hasFiles = false;
  try {
    for await (const _ of Deno.readDir(testsDir)) {
      hasFiles = true;
      break;
    }
  } catch { /* no folder */ }
  if (!hasFiles) return;
  const creds = await readCredentials(credentialsPath);
  const sql = postgres(creds.adminDbUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`create extension if not exists pgtap with schema extensions`;
  } catch (error) {
    console.error(
      `pgTAP is not installed (${(error as Error).message}); install postgresql-15-pgtap`,
    );
    add("pgTAP", { passed: 0, failed: 1, skipped: 0 });
    return;
  } finally {
    await sql.end();
  }
  const url = new URL(creds.dbUrl);
  console.log("\n== pgTAP (pg_prove)");
  try {
    const { text, code } = await run("pg_prove", [
      "--verbose",
      "--ext",
      ".sql",
      "-r",
      "-h",
      url.hostname,
      "-p",
      url.port,
      "-U",
      "postgres",
      "-d",
      "postgres",
      testsDir,
    ], { ...env, PGPASSWORD: "postgres", PGOPTIONS: "-c search_path=public,extensions" });
    const tally = parseTap(text);
    if (code !== 0 && tally.failed === 0) tally.failed = 1; // a file that died before its plan
    add("pgTAP", tally);
  } catch (error) {
    console.error(
      `pg_prove could not run (${
        (error as Error).message
      }); install libtap-parser-sourcehandler-pgtap-perl`,
    );
    add("pgTAP", { passed: 0, failed: 1, skipped: 0 });
  }
}

async function main(): Promise<number> {
  if (Deno.env.get("STOWAGE_CHECK_FAILED") === "1") {
    add("deno task check", { passed: 0, failed: 1, skipped: 0 });
  }
  const dir = join(projectDir, ".stack-test", `run-${Deno.pid}`);
  let stack: SpawnedStack | undefined;
  // A signal stops the stack (it cleans up after itself) and every other
  // process this runner started (deno test, the browsers it drives, pg_prove).
  const onSignal = () => {
    const stackPid = stack?.pid;
    const stackTree = new Set(stackPid ? descendants(stackPid).map((p) => p.pid) : []);
    const others = descendants(Deno.pid).filter((p) => p.pid !== stackPid && !stackTree.has(p.pid));
    Promise.allSettled([stack?.stop(), stopProcesses(others, 5000)])
      .then(() => stopProcesses(descendants(Deno.pid), 2000))
      .finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const legacyOffOnly = Deno.env.get("STOWAGE_LEGACY_OFF_ONLY") === "1";
  if (!legacyOffOnly) await mainPass(dir, (s) => stack = s);
  if (
    legacyOffOnly || (!Deno.args.length && Deno.env.get("STOWAGE_LEGACY_OFF_PASS") !== "0" &&
      Deno.env.get("STOWAGE_LEGACY_KEYS") !== "off")
  ) {
    await legacyOffPass(`${dir}-legacy-off`, (s) => stack = s);
  }
  console.log("\n" + lines.join("\n"));
  console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
  return total.failed > 0 ? 1 : 0;
}

/** The stack of the main pass: every test (or the files named), then pgTAP on a full run. */
async function mainPass(dir: string, started: (stack: SpawnedStack) => void): Promise<void> {
  let stack: SpawnedStack | undefined;
  try {
    console.log("\n== starting a test stack");
    stack = await spawnStack(dir, { timeoutMs: 180_000 });
    started(stack);
    const env = { STOWAGE_CREDENTIALS: stack.credentialsPath, NO_COLOR: "1" };
    console.log("\n== deno test (unit and integration)");
    const args = Deno.args.length ? Deno.args : [];
    const { text, timedOut } = await run(
      Deno.execPath(),
      ["test", "-A", "--no-check", ...args],
      env,
    );
    const tally = parseDenoSummary(text) ?? parsePartialDeno(text);
    if (timedOut) tally.failed += 1;
    add("deno test", tally);
    if (tally.failed) await printServerErrors(dir);
    if (!Deno.args.length) await runPgTap(stack.credentialsPath, env);
  } catch (error) {
    console.error((error as Error).message);
    add("test stack", { passed: 0, failed: 1, skipped: 0 });
  } finally {
    if (stack) await stack.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** {@link LEGACY_OFF_FILES} against a stack whose legacy keys are disabled. */
async function legacyOffPass(dir: string, started: (stack: SpawnedStack) => void): Promise<void> {
  let stack: SpawnedStack | undefined;
  try {
    console.log("\n== a stack with legacy keys disabled (STOWAGE_LEGACY_KEYS=off)");
    stack = await spawnStack(dir, { timeoutMs: 180_000, env: { STOWAGE_LEGACY_KEYS: "off" } });
    started(stack);
    const { text, timedOut } = await run(
      Deno.execPath(),
      ["test", "-A", "--no-check", ...LEGACY_OFF_FILES],
      { STOWAGE_CREDENTIALS: stack.credentialsPath, NO_COLOR: "1" },
    );
    const tally = parseDenoSummary(text) ?? parsePartialDeno(text);
    if (timedOut) tally.failed += 1;
    add("deno test (legacy keys off)", tally);
    if (tally.failed) await printServerErrors(dir);
  } catch (error) {
    console.error((error as Error).message);
    add("test stack (legacy keys off)", { passed: 0, failed: 1, skipped: 0 });
  } finally {
    if (stack) await stack.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await main());
