/** @module Unit tests of the import-assistants argument parsing, file parsing, local layout and summary. */
import assert from "node:assert/strict";
import { CliError } from "../lib/errors.ts";
import { parseImportArgs, summary } from "./import-assistants.ts";
import { localLayout } from "./import-assistants-layout.ts";
import type { ImportReport } from "./import-assistants-load.ts";
import { parseMapping, parsePosition, type Skipped } from "./import-assistants-parse.ts";

Deno.test("parseImportArgs: exactly one source; dry run by default", () => {
  assert.deepEqual(parseImportArgs(["--from", "/data"]), {
    source: { kind: "local", path: "/data" },
    execute: false,
    reportOut: null,
    dbUrl: undefined,
    json: false,
  });
  const bucket = parseImportArgs(["--bucket", "lms", "--execute", "--report-out", "r.json"]);
  assert.ok(bucket !== "help");
  assert.deepEqual(bucket.source, { kind: "bucket", bucket: "lms" });
  assert.equal(bucket.execute, true);
  assert.equal(parseImportArgs(["--help"]), "help");
  for (const args of [[], ["--from", "a", "--bucket", "b"], ["--from", "a", "--nope"]]) {
    assert.throws(() => parseImportArgs(args), (e) => e instanceof CliError && e.exitCode === 2);
  }
});

Deno.test("parseMapping keeps valid entries and reports invalid ones", () => {
  const unmapped: Skipped[] = [];
  const rows = parseMapping(
    JSON.stringify({
      asst_1: { username: " a@x.io ", course_id: "physics" },
      asst_2: { username: "b@x.io", course_id: 42 },
      "bad id": { username: "c@x.io", course_id: "c" },
      asst_3: { course_id: "c" },
      asst_4: { username: "d@x.io" },
      asst_5: null,
      asst_6: { username: "e@x.io", course_id: "a\u0001b" },
      // An unpaired surrogate cannot be stored: it would become U+FFFD.
      asst_7: { username: "f@x.io", course_id: "\ud800x" },
    }),
    unmapped,
  );
  assert.deepEqual(rows.map((r) => [r.assistantId, r.owner, r.courseId]), [
    ["asst_1", "a@x.io", "physics"],
    ["asst_2", "b@x.io", "42"],
  ]);
  assert.deepEqual(unmapped.map((u) => u.ref).sort(), [
    "asst_3",
    "asst_4",
    "asst_5",
    "asst_6",
    "asst_7",
    "bad id",
  ]);
  assert.ok(unmapped.every((u) => u.reason === "invalid_entry" && u.kind === "assistant"));
});

Deno.test("parseMapping refuses a file that is not a JSON object", () => {
  for (const text of ["{", "[]", "null", "3"]) {
    assert.throws(
      () => parseMapping(text, []),
      (e) => e instanceof CliError && e.code === "source_invalid",
    );
  }
});

Deno.test("parsePosition reads last_position, reports bad values", () => {
  const unmapped: Skipped[] = [];
  const key = "user_data/a@x.io/physics/assistant_position.json";
  assert.deepEqual(parsePosition(key, '{"last_position": 12}', unmapped), {
    kind: "position",
    ref: key,
    owner: "a@x.io",
    courseId: "physics",
    lastPosition: 12,
  });
  for (
    const text of [
      '{"last_position": -1}',
      '{"last_position": 1.5}',
      '{"last_position": "3"}',
      "{}",
      "nope",
    ]
  ) {
    assert.equal(parsePosition(key, text, unmapped), null, text);
  }
  assert.equal(unmapped.length, 5);
  assert.ok(unmapped.every((u) => u.reason === "invalid_entry" && u.kind === "position"));
});

Deno.test("localLayout lists only user_data/<owner>/<course>/assistant_position.json", async () => {
  const root = await Deno.makeTempDir();
  try {
    const write = async (key: string, text: string) => {
      await Deno.mkdir(`${root}/${key.split("/").slice(0, -1).join("/")}`, { recursive: true });
      await Deno.writeTextFile(`${root}/${key}`, text);
    };
    await write("user_data/assistant_reverse_mapping.json", "{}");
    await write("user_data/a@x.io/c1/assistant_position.json", "{}");
    await write("user_data/a@x.io/c2/other.json", "{}");
    await write("user_data/a@x.io/c3/deeper/assistant_position.json", "{}");
    await write("user_data/b@x.io/assistant_position.json", "{}");
    await write("user_data/b@x.io/c9/assistant_position.json", "{}");
    const layout = await localLayout(root);
    assert.deepEqual(await layout.positionKeys(), [
      "user_data/a@x.io/c1/assistant_position.json",
      "user_data/b@x.io/c9/assistant_position.json",
    ]);
    assert.equal(await layout.read("user_data/assistant_reverse_mapping.json"), "{}");
    assert.equal(await layout.read("user_data/missing.json"), null);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("localLayout stops on a position file it cannot stat, rather than skip it", async () => {
  const root = await Deno.makeTempDir();
  try {
    const course = `${root}/user_data/a@x.io/c1`;
    await Deno.mkdir(course, { recursive: true });
    // A symlink to itself: stat fails with ELOOP (root ignores permissions, so no chmod test).
    await Deno.symlink(`${course}/assistant_position.json`, `${course}/assistant_position.json`);
    const layout = await localLayout(root);
    await assert.rejects(
      layout.positionKeys(),
      (e) => e instanceof CliError && e.code === "source_unavailable" && /c1/.test(e.message),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("localLayout refuses a folder without user_data/", async () => {
  const root = await Deno.makeTempDir();
  try {
    await assert.rejects(
      localLayout(root),
      (e) => e instanceof CliError && e.code === "source_unavailable",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("summary says dry run and counts reasons", () => {
  const counts = { found: 3, inserted: 1, unchanged: 0, unmapped: 1, conflicts: 1 };
  const report: ImportReport = {
    source: "/data",
    execute: false,
    mappingFile: "found",
    assistants: counts,
    positions: { ...counts, found: 0, inserted: 0, unmapped: 0, conflicts: 0 },
    unmapped: [{ kind: "assistant", ref: "a", reason: "unknown_user", detail: "" }],
    conflicts: [{ kind: "assistant", ref: "b", reason: "assistant_taken", detail: "" }],
  };
  const text = summary(report, "r.json");
  assert.match(text, /dry run/);
  assert.match(text, /assistants 3 found, 1 to insert, 0 unchanged, 1 unmapped, 1 conflicts/);
  assert.match(text, /unknown_user 1, assistant_taken 1/);
  assert.match(text, /--execute/);
});
