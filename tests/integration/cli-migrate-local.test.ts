/**
 * @module `stowage migrate` from local folders: the audio app's uploads and CodebeGen's
 * projects end to end, quotas in the plan, resume after SIGKILL, verify catching a
 * corrupted copy, `--delete-after`, `--shard`.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { adminSql, createUser, stack } from "../support/stack.ts";
import { bytes, cliCommand, freePort, runCli, writeFile } from "../support/cli.ts";

async function objectsUnder(sql: postgres.Sql, bucket: string, prefix: string) {
  const rows = await sql`select name, version, metadata from storage.objects
    where bucket_id = ${bucket} and starts_with(name, ${prefix}) order by name collate "C"`;
  return [...rows] as unknown as {
    name: string;
    version: string;
    metadata: { size: number; mimetype: string };
  }[];
}

async function files(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/${prefix}`)) {
    if (e.isDirectory) out.push(...await files(dir, `${prefix}${e.name}/`));
    else out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

function env(): Record<string, string> {
  return { STOWAGE_CREDENTIALS: Deno.env.get("STOWAGE_CREDENTIALS") ?? "" };
}

Deno.test("the cli/stowage launcher runs the CLI from any directory", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const out = await new Deno.Command(`${root}cli/stowage`, {
    args: ["migrate", "--help"],
    cwd: "/",
    env: { DENO: Deno.execPath() },
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(new TextDecoder().decode(out.stdout), /^Usage: stowage migrate <source> --to/);
  const bad = await new Deno.Command(`${root}cli/stowage`, {
    args: ["nope"],
    cwd: "/",
    env: { DENO: Deno.execPath() },
  }).output();
  assert.equal(bad.code, 2);
});

Deno.test("audio app uploads: dry run changes nothing; --execute --delete-after copies audio, refuses the text file, deletes only verified sources", async () => {
  const sql = await adminSql();
  const dir = await Deno.makeTempDir({ prefix: "stowage-cli-audio-" });
  try {
    const user = await createUser();
    const src = `${dir}/uploads`;
    for (let ch = 1; ch <= 2; ch++) {
      for (let s = 1; s <= 3; s++) {
        await writeFile(
          `${src}/${user.id}/proj-1/ch${ch}/sec${s}/take.mp3`,
          bytes(20_000 + ch * 100 + s, s),
        );
      }
    }
    await writeFile(`${src}/${user.id}/proj-1/ch1/sec1/room.wav`, bytes(5000, 9));
    await writeFile(`${src}/${user.id}/proj-1/ch1/sec1/notes.txt`, "not audio");
    const before = await files(src);

    const dry = await runCli(["migrate", src, "--to", "audiofiles"], env());
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /notes\.txt: unsupported_media_type/);
    assert.deepEqual(
      await objectsUnder(sql, "audiofiles", `${user.id}/`),
      [],
      "a dry run copies nothing",
    );
    assert.deepEqual(await files(src), before, "a dry run deletes nothing");

    const run = await runCli([
      "migrate",
      src,
      "--to",
      "audiofiles",
      "--execute",
      "--delete-after",
      "--plan-out",
      `${dir}/plan.json`,
    ], env());
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const report = JSON.parse(await Deno.readTextFile(`${dir}/plan.json.report.json`));
    assert.deepEqual(report.counts, {
      copied: 7,
      renamed: 0,
      skipped: 0,
      refused: 1,
      failed: 0,
      deleted: 7,
    });
    const stored = await objectsUnder(sql, "audiofiles", `${user.id}/`);
    assert.equal(stored.length, 7);
    assert.equal(stored.find((o) => o.name.endsWith("room.wav"))?.metadata.mimetype, "audio/wav");
    assert.equal(stored.find((o) => o.name.endsWith("ch2/sec3/take.mp3"))?.metadata.size, 20_203);
    assert.deepEqual(
      await files(src),
      [`${user.id}/proj-1/ch1/sec1/notes.txt`],
      "only the refused file is left",
    );
  } finally {
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CodebeGen projects: generations migrate with --verify full (read back, SHA-256)", async () => {
  const sql = await adminSql();
  const dir = await Deno.makeTempDir({ prefix: "stowage-cli-cbg-" });
  try {
    const user = await createUser();
    for (let p = 1; p <= 2; p++) {
      for (let v = 1; v <= 3; v++) {
        await writeFile(
          `${dir}/projects/${user.id}/project-${p}/generations/v${v}__gen${p}${v}.tar.gz`,
          bytes(50_000 * v, p * 10 + v),
        );
      }
    }
    const run = await runCli([
      "migrate",
      `${dir}/projects`,
      "--to",
      "codebegen-projects",
      "--execute",
      "--verify",
      "full",
      "--plan-out",
      `${dir}/p.json`,
    ], env());
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const report = JSON.parse(await Deno.readTextFile(`${dir}/p.json.report.json`));
    assert.equal(report.counts.copied, 6);
    const stored = await objectsUnder(sql, "codebegen-projects", `${user.id}/`);
    assert.deepEqual(stored.map((o) => o.name.slice(37)), [
      "project-1/generations/v1__gen11.tar.gz",
      "project-1/generations/v2__gen12.tar.gz",
      "project-1/generations/v3__gen13.tar.gz",
      "project-2/generations/v1__gen21.tar.gz",
      "project-2/generations/v2__gen22.tar.gz",
      "project-2/generations/v3__gen23.tar.gz",
    ]);
    assert.ok(stored.every((o) => o.metadata.mimetype === "application/gzip"));
    const journal = (await Deno.readTextFile(`${dir}/p.json.journal`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.ok(journal.every((e) => e.op === "copied" && e.verify === "full"));
  } finally {
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a user over quota is reported in the plan and their copies refused", async () => {
  const sql = await adminSql();
  const dir = await Deno.makeTempDir({ prefix: "stowage-cli-quota-" });
  const plan = `cli-tiny-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await sql`insert into stowage.plans (id, quota_bytes) values (${plan}, 10000)`;
    const small = await createUser({ plan });
    const fine = await createUser();
    await writeFile(`${dir}/src/${small.id}/p/c/s/a.mp3`, bytes(6000));
    await writeFile(`${dir}/src/${small.id}/p/c/s/b.mp3`, bytes(6000, 2));
    await writeFile(`${dir}/src/${fine.id}/p/c/s/a.mp3`, bytes(6000, 3));
    const dry = await runCli(["migrate", `${dir}/src`, "--to", "audiofiles", "--json"], env());
    assert.equal(dry.code, 0, dry.stderr);
    const out = JSON.parse(dry.stdout);
    const row = out.users.find((u: { userId: string }) => u.userId === small.id);
    assert.deepEqual([row.plan, row.quotaBytes, row.incomingBytes, row.over], [
      plan,
      10000,
      12000,
      true,
    ]);
    assert.equal(out.users.find((u: { userId: string }) => u.userId === fine.id).over, false);
    const actions = out.items.map((
      i: { target: string; action: string; reason?: { code: string } },
    ) => [i.target.startsWith(small.id), i.action, i.reason?.code]);
    assert.deepEqual(actions.filter((a: unknown[]) => a[0]).map((a: unknown[]) => a.slice(1)), [[
      "refuse",
      "quota_exceeded",
    ], ["refuse", "quota_exceeded"]]);
    assert.deepEqual(actions.filter((a: unknown[]) => !a[0]).map((a: unknown[]) => a.slice(1)), [[
      "copy",
      undefined,
    ]]);
  } finally {
    await sql`delete from stowage.user_plans where plan_id = ${plan}`;
    await sql`delete from stowage.plans where id = ${plan}`;
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a run killed with SIGKILL halfway resumes and ends with every object copied exactly once", async () => {
  const sql = await adminSql();
  const dir = await Deno.makeTempDir({ prefix: "stowage-cli-kill-" });
  try {
    const user = await createUser();
    const n = 300;
    for (let i = 0; i < n; i++) {
      await writeFile(`${dir}/src/user_data/${user.id}/c${i % 4}/f${i}.bin`, bytes(8000, i + 1));
    }
    const args = [
      "migrate",
      `${dir}/src`,
      "--to",
      "anantra-lms-store",
      "--execute",
      "--concurrency",
      "4",
      "--plan-out",
      `${dir}/plan.json`,
    ];
    const child = cliCommand(args, env()).spawn();
    const journal = `${dir}/plan.json.journal`;
    for (let i = 0; i < 600; i++) {
      const lines = await Deno.readTextFile(journal).then((t) => t.split("\n").length - 1, () => 0);
      if (lines >= 60) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    const status = await child.status;
    await child.stdout.cancel();
    await child.stderr.cancel();
    assert.equal(status.signal, "SIGKILL");
    const home = `user_data/${user.id}/`;
    // The server may still commit uploads whose bytes all arrived before the kill: wait until quiet.
    let atKill = await objectsUnder(sql, "anantra-lms-store", home);
    for (let settled = 0; settled < 3;) {
      await new Promise((r) => setTimeout(r, 200));
      const now = await objectsUnder(sql, "anantra-lms-store", home);
      settled = now.length === atKill.length ? settled + 1 : 0;
      atKill = now;
    }
    assert.ok(atKill.length > 0 && atKill.length < n, `killed halfway (${atKill.length} of ${n})`);

    const again = await runCli(args, env());
    assert.equal(again.code, 0, again.stdout + again.stderr);
    const report = JSON.parse(await Deno.readTextFile(`${dir}/plan.json.report.json`));
    assert.equal(report.counts.failed, 0);
    assert.equal(
      report.counts.copied,
      n - atKill.length,
      "the resumed run copies only what was missing",
    );
    assert.equal(report.counts.skipped, atKill.length);
    const after = await objectsUnder(sql, "anantra-lms-store", home);
    assert.equal(after.length, n);
    const versions = new Map(after.map((o) => [o.name, o.version]));
    for (const o of atKill) {
      assert.equal(versions.get(o.name), o.version, `"${o.name}" was uploaded twice`);
    }
  } finally {
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verify catches a copy corrupted on the way, removes it, and the run exits non-zero", async () => {
  const sql = await adminSql();
  const dir = await Deno.makeTempDir({ prefix: "stowage-cli-corrupt-" });
  const creds = await stack();
  // A proxy in front of the gateway that flips one byte of every upload of "bad.json".
  const upstream = creds.url;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: freePort(), onListen() {} },
    async (req) => {
      const url = new URL(req.url);
      let body: ReadableStream<Uint8Array> | null = req.body;
      if (req.method === "POST" && url.pathname.endsWith("/bad.json") && body) {
        let first = true;
        body = body.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, ctl) {
              if (first && chunk.length > 0) {
                chunk = chunk.slice();
                chunk[0] ^= 0xff;
                first = false;
              }
              ctl.enqueue(chunk);
            },
          }),
        );
      }
      const headers = new Headers(req.headers);
      headers.delete("content-length");
      return await fetch(
        upstream + url.pathname + url.search,
        { method: req.method, headers, body, duplex: "half" } as RequestInit,
      );
    },
  );
  try {
    const user = await createUser();
    await writeFile(`${dir}/src/user_data/${user.id}/good.json`, '{"ok":true}');
    await writeFile(`${dir}/src/user_data/${user.id}/bad.json`, '{"ok":false}');
    const proxyEnv = {
      SUPABASE_URL: `http://127.0.0.1:${server.addr.port}`,
      SUPABASE_SECRET_KEY: creds.secretKey,
    };
    const run = await runCli(
      [
        "migrate",
        `${dir}/src`,
        "--to",
        "anantra-lms-store",
        "--execute",
        "--retries",
        "1",
        "--db-url",
        creds.dbUrl,
        "--plan-out",
        `${dir}/p.json`,
      ],
      proxyEnv,
    );
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const report = JSON.parse(await Deno.readTextFile(`${dir}/p.json.report.json`));
    assert.equal(report.counts.copied, 1);
    assert.deepEqual(
      report.failed.map((f: { code: string; attempts: number }) => [f.code, f.attempts]),
      [["verify_failed", 2]],
    );
    assert.match(report.failed[0].message, /stored MD5 [0-9a-f]{32}, sent [0-9a-f]{32}/);
    const stored = await objectsUnder(sql, "anantra-lms-store", `user_data/${user.id}/`);
    assert.deepEqual(
      stored.map((o) => o.name.split("/").pop()),
      ["good.json"],
      "the corrupt copy is removed",
    );
  } finally {
    await server.shutdown();
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--shard i/n splits one migration into disjoint parts that cover everything", async () => {
  const sql = await adminSql();
  const dir = await Deno.makeTempDir({ prefix: "stowage-cli-shard-" });
  try {
    const user = await createUser();
    for (let i = 0; i < 40; i++) {
      await writeFile(`${dir}/src/${user.id}/p/g/v${i}__x.tar.gz`, bytes(100, i + 1));
    }
    const copied: string[][] = [];
    for (const shard of ["1/2", "2/2"]) {
      const run = await runCli([
        "migrate",
        `${dir}/src`,
        "--to",
        "codebegen-projects",
        "--execute",
        "--shard",
        shard,
        "--plan-out",
        `${dir}/p${shard[0]}.json`,
      ], env());
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(await Deno.readTextFile(`${dir}/p${shard[0]}.json.report.json`));
      copied.push(report.copied.map((c: { source: string }) => c.source));
    }
    assert.ok(
      copied[0].length > 5 && copied[1].length > 5,
      `uneven split ${copied[0].length}/${copied[1].length}`,
    );
    assert.equal(copied[0].filter((s) => copied[1].includes(s)).length, 0);
    assert.equal(new Set([...copied[0], ...copied[1]]).size, 40);
    assert.equal((await objectsUnder(sql, "codebegen-projects", `${user.id}/`)).length, 40);
  } finally {
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});
