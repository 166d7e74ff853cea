/**
 * @module Integration tests of `stowage import-assistants` against the running stack:
 * a generated old-layout folder with 1,000 mappings (some unknown emails, duplicates,
 * conflicts with rows already there), a second run that changes nothing, and a bucket
 * source read through the Storage API.
 */
import assert from "node:assert/strict";
import { run } from "../../cli/commands/import-assistants.ts";
import { importAssistants, type ImportReport } from "../../cli/commands/import-assistants-load.ts";
import { adminSql, createUser, functionUrl, serviceClient, stack } from "../support/stack.ts";

const TAG = crypto.randomUUID().slice(0, 8);
const email = (i: number) => `imp-${TAG}-${i}@test.example`;
const ghost = (i: number) => `ghost-${TAG}-${i}@nowhere.example`;
const assistantId = (i: number) => `asst-${TAG}-${i}`;

/** Runs the import and checks its exit status (1 when some rows could not be mapped). */
async function runImport(args: string[], expectedStatus: 0 | 1): Promise<ImportReport> {
  const dir = await Deno.makeTempDir();
  try {
    const status = await run([...args, "--report-out", `${dir}/report.json`]);
    const report: ImportReport = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
    assert.equal(status, expectedStatus, "exit status");
    assert.equal(report.unmapped.length > 0, expectedStatus === 1);
    return report;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function writeFile(root: string, key: string, text: string) {
  await Deno.mkdir(`${root}/${key.split("/").slice(0, -1).join("/")}`, { recursive: true });
  await Deno.writeTextFile(`${root}/${key}`, text);
}

Deno.test("import-assistants loads 1,000 old mappings idempotently and reports what it could not map", async () => {
  const sql = await adminSql();
  const root = await Deno.makeTempDir();
  try {
    // 900 known users, 100 unknown emails.
    const ids = Array.from({ length: 900 }, () => crypto.randomUUID());
    await sql`insert into auth.users (id, email, aud, role)
      select id, email, 'authenticated', 'authenticated'
      from unnest(${ids}::uuid[], ${ids.map((_, i) => email(i))}::text[]) as u(id, email)`;
    const other = await createUser();
    // Rows already in the database before the import.
    await sql`insert into stowage.assistants (assistant_id, user_id, course_id) values
      (${`pre-${TAG}`}, ${ids[1]}, 'kept'),
      (${assistantId(2)}, ${other.id}, 'theirs'),
      (${assistantId(5)}, ${ids[5]}, 'course-5')`;
    await sql`insert into stowage.assistant_positions (user_id, course_id, last_position) values
      (${ids[12]}, 'course-5', 999), (${ids[13]}, 'course-6', 13)`;

    const mapping: Record<string, { username: string; course_id: string }> = {};
    for (let i = 0; i < 1000; i++) {
      const username = i === 0
        ? email(0).toUpperCase()
        : i === 4
        ? email(3)
        : i < 900
        ? email(i)
        : ghost(i);
      mapping[assistantId(i)] = { username, course_id: `course-${i % 7}` };
    }
    await writeFile(root, "user_data/assistant_reverse_mapping.json", JSON.stringify(mapping));
    for (let i = 0; i < 600; i++) {
      const owner = i === 10 ? ids[10] : email(i);
      const body = i === 11 ? { last_position: -5 } : { last_position: i };
      await writeFile(
        root,
        `user_data/${owner}/course-${i % 7}/assistant_position.json`,
        JSON.stringify(body),
      );
    }
    for (let i = 900; i < 950; i++) {
      await writeFile(
        root,
        `user_data/${ghost(i)}/c/assistant_position.json`,
        '{"last_position":1}',
      );
    }

    const dry = await runImport(["--from", root], 1);
    assert.equal(dry.execute, false);
    assert.equal(dry.assistants.inserted, 895);
    const [{ n: before }] =
      await sql`select count(*)::int as n from stowage.assistants where user_id = any(${ids}::uuid[])`;
    assert.equal(before, 2, "a dry run writes nothing");

    const first = await runImport(["--from", root, "--execute"], 1);
    assert.deepEqual(first.assistants, {
      found: 1000,
      inserted: 895,
      unchanged: 1,
      unmapped: 100,
      conflicts: 4,
    });
    assert.deepEqual(first.positions, {
      found: 650,
      inserted: 597,
      unchanged: 1,
      unmapped: 51,
      conflicts: 1,
    });
    const reasons = (list: { ref: string; reason: string }[]) =>
      Object.fromEntries(
        Object.entries(Object.groupBy(list, (s) => s.reason)).map(([k, v]) => [k, v!.length]),
      );
    assert.deepEqual(reasons(first.unmapped), { unknown_user: 150, invalid_entry: 1 });
    assert.deepEqual(reasons(first.conflicts), {
      user_has_assistant: 1,
      assistant_taken: 1,
      duplicate_user: 2,
      position_differs: 1,
    });
    assert.ok(
      first.unmapped.some((u) => u.ref === assistantId(950) && u.detail.includes(ghost(950))),
    );

    // What was there stays as it was; the rest is loaded.
    const rows = await sql`select assistant_id, user_id::text, course_id from stowage.assistants
      where user_id = any(${[...ids, other.id]}::uuid[]) order by assistant_id`;
    const byUser = new Map(rows.map((r) => [r.user_id, r]));
    assert.equal(byUser.get(ids[1])?.assistant_id, `pre-${TAG}`);
    assert.equal(byUser.get(other.id)?.assistant_id, assistantId(2));
    assert.equal(byUser.get(ids[3]), undefined);
    assert.equal(byUser.get(ids[4]), undefined);
    assert.equal(byUser.get(ids[899])?.assistant_id, assistantId(899));
    assert.equal(rows.length, 898);
    const [{ p12 }] = await sql`select last_position::int as p12 from stowage.assistant_positions
      where user_id = ${ids[12]} and course_id = 'course-5'`;
    assert.equal(p12, 999);
    const [{ p10 }] = await sql`select last_position::int as p10 from stowage.assistant_positions
      where user_id = ${ids[10]} and course_id = 'course-3'`;
    assert.equal(p10, 10, "an owner folder named by user id maps too");

    // The webhook finds an imported mapping (the email matched case-insensitively).
    const { assistantWebhookSecret } = await stack();
    const response = await fetch(`${await functionUrl("assistants")}/lookup/${assistantId(0)}`, {
      headers: { "x-webhook-secret": assistantWebhookSecret },
    });
    assert.deepEqual(await response.json(), {
      assistantId: assistantId(0),
      userId: ids[0],
      courseId: "course-0",
    });

    // A second run changes nothing.
    const [{ stamp }] = await sql`select max(updated_at)::text as stamp from stowage.assistants
      where user_id = any(${ids}::uuid[])`;
    const second = await runImport(["--from", root, "--execute"], 1);
    assert.deepEqual(second.assistants, {
      found: 1000,
      inserted: 0,
      unchanged: 896,
      unmapped: 100,
      conflicts: 4,
    });
    assert.deepEqual(second.positions, {
      found: 650,
      inserted: 0,
      unchanged: 598,
      unmapped: 51,
      conflicts: 1,
    });
    const [{ n: after, stamp2 }] =
      await sql`select count(*)::int as n, max(updated_at)::text as stamp2
      from stowage.assistants where user_id = any(${ids}::uuid[])`;
    assert.equal(after, 897);
    assert.equal(stamp2, stamp);
  } finally {
    await sql.end();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("import-assistants reads the old files from a bucket through the Storage API", async () => {
  const users = await Promise.all(Array.from({ length: 5 }, () => createUser()));
  const bucket = `lms-old-${TAG}`;
  const storage = (await serviceClient()).storage;
  const created = await storage.createBucket(bucket, { public: false });
  assert.equal(created.error, null);
  const put = async (key: string, value: unknown) => {
    const { error } = await storage.from(bucket).upload(
      key,
      new Blob([JSON.stringify(value)], { type: "application/json" }),
      { contentType: "application/json" },
    );
    assert.equal(error, null, key);
  };
  const mapping = Object.fromEntries(
    users.map((u, i) => [`b-${TAG}-${i}`, { username: u.email, course_id: "bio" }]),
  );
  mapping[`b-${TAG}-ghost`] = { username: `nobody-${TAG}@x.example`, course_id: "bio" };
  await put("user_data/assistant_reverse_mapping.json", mapping);
  for (const [i, u] of users.entries()) {
    await put(`user_data/${u.email}/bio/assistant_position.json`, { last_position: i * 10 });
  }
  await put(`user_data/${users[0].email}/bio/notes.json`, {});
  // Not a position file, though "." in a regular expression would match its "_".
  await put(`user_data/${users[0].email}/bio/assistant_position_json`, { last_position: 99 });

  const report = await runImport(["--bucket", bucket, "--execute"], 1);
  assert.deepEqual(report.assistants, {
    found: 6,
    inserted: 5,
    unchanged: 0,
    unmapped: 1,
    conflicts: 0,
  });
  assert.deepEqual(report.positions, {
    found: 5,
    inserted: 5,
    unchanged: 0,
    unmapped: 0,
    conflicts: 0,
  });
  const position = await fetch(`${await functionUrl("assistants")}/positions/bio`, {
    headers: { authorization: `Bearer ${users[3].token}` },
  });
  assert.equal((await position.json()).lastPosition, 30);
  const again = await runImport(["--bucket", bucket, "--execute"], 1);
  assert.equal(again.assistants.inserted + again.positions.inserted, 0);
  assert.equal(again.assistants.unchanged + again.positions.unchanged, 10);
});

Deno.test("import-assistants reports a missing mapping file and still loads positions", async () => {
  const user = await createUser();
  const root = await Deno.makeTempDir();
  try {
    await writeFile(
      root,
      `user_data/${user.email}/art/assistant_position.json`,
      '{"last_position":4}',
    );
    const report = await runImport(["--from", root, "--execute"], 0);
    assert.equal(report.mappingFile, "missing");
    assert.equal(report.assistants.found, 0);
    assert.equal(report.positions.inserted, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("import-assistants reports two position files of one user and course, loading neither", async () => {
  const user = await createUser();
  const root = await Deno.makeTempDir();
  try {
    // One folder named by email, one by user id: both are this user's "art".
    await writeFile(
      root,
      `user_data/${user.email}/art/assistant_position.json`,
      '{"last_position":4}',
    );
    await writeFile(
      root,
      `user_data/${user.id}/art/assistant_position.json`,
      '{"last_position":9}',
    );
    await writeFile(
      root,
      `user_data/${user.id}/music/assistant_position.json`,
      '{"last_position":2}',
    );
    const report = await runImport(["--from", root, "--execute"], 0);
    assert.deepEqual(report.positions, {
      found: 3,
      inserted: 1,
      unchanged: 0,
      unmapped: 0,
      conflicts: 2,
    });
    assert.deepEqual(
      report.conflicts.map((c) => c.reason),
      ["duplicate_position", "duplicate_position"],
    );
    const sql = await adminSql();
    try {
      const rows = await sql`select course_id from stowage.assistant_positions
        where user_id = ${user.id} order by course_id`;
      assert.deepEqual(rows.map((r) => r.course_id), ["music"]);
    } finally {
      await sql.end();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("import-assistants that cannot write its report says so with a code, not as a database error", async () => {
  const user = await createUser();
  const root = await Deno.makeTempDir();
  try {
    await writeFile(
      root,
      `user_data/${user.email}/art/assistant_position.json`,
      '{"last_position":4}',
    );
    await assert.rejects(
      run(["--from", root, "--execute", "--report-out", `${root}/no/such/dir/report.json`]),
      (e: Error & { code?: string }) =>
        e.code === "report_unwritable" && /the rows were written/.test(e.message),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("import-assistants reports a position file that was listed but gone when read", async () => {
  const user = await createUser();
  const key = `user_data/${user.email}/art/assistant_position.json`;
  const sql = await adminSql();
  try {
    const report = await importAssistants(
      {
        description: "vanishing",
        read: () => Promise.resolve(null),
        positionKeys: () => Promise.resolve([key]),
      },
      sql,
      false,
    );
    assert.equal(report.positions.found, 1);
    assert.equal(report.positions.unmapped, 1);
    assert.deepEqual(report.unmapped.map((u) => [u.ref, u.reason]), [[key, "vanished"]]);
  } finally {
    await sql.end();
  }
});

Deno.test("import-assistants refuses a bucket that does not exist with bucket_not_found", async () => {
  await assert.rejects(
    run(["--bucket", `no-such-bucket-${TAG}`, "--report-out", "/dev/null"]),
    (e: Error & { code?: string }) => e.code === "bucket_not_found",
  );
});
