/**
 * @module `stowage migrate` never reads, uploads or deletes a file outside the folder it
 * was given, and never fetches an S3 key with `.`, `..` or empty segments. The swaps are
 * made deterministically by a proxy in front of the gateway (or of s3rver) that acts when
 * the CLI's request for an earlier object arrives, before that request is answered.
 */
import assert from "node:assert/strict";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type postgres from "postgres";
import { adminSql, createUser, serviceClient, stack } from "../support/stack.ts";
import { freePort, runCli, startS3, writeFile } from "../support/cli.ts";

/** An HTTP proxy to `upstream` that awaits `before(request)` before forwarding it. */
function proxy(upstream: string, before: (req: Request) => Promise<void> | void) {
  return Deno.serve({ hostname: "127.0.0.1", port: freePort(), onListen() {} }, async (req) => {
    await before(req);
    const url = new URL(req.url);
    const headers = new Headers(req.headers);
    headers.delete("content-length");
    return await fetch(
      upstream + url.pathname + url.search,
      { method: req.method, headers, body: req.body, duplex: "half" } as RequestInit,
    );
  });
}

async function names(sql: postgres.Sql, bucket: string, prefix: string): Promise<string[]> {
  const rows = await sql`select name from storage.objects
    where bucket_id = ${bucket} and starts_with(name, ${prefix}) order by name collate "C"`;
  return rows.map((r) => r.name.slice(prefix.length));
}

/**
 * A source with `a-first.json`, `sub/secret.json` and a symlink `link.json` to a file
 * outside; `outside/` holds `secret.json` too (what a swapped `sub` would lead to).
 */
async function fixture(dir: string, uid: string) {
  const home = `${dir}/src/user_data/${uid}`;
  await writeFile(`${home}/a-first.json`, '{"first":true}');
  await writeFile(`${home}/sub/secret.json`, '{"inside":true}');
  await writeFile(`${dir}/outside/secret.json`, '{"OUTSIDE":true}');
  await Deno.symlink(`${dir}/outside/secret.json`, `${home}/link.json`);
  return {
    home,
    /** Moves `sub` away and puts a symlink to `outside/` in its place. */
    swap: async () => {
      await Deno.rename(`${home}/sub`, `${dir}/moved`);
      await Deno.symlink(`${dir}/outside`, `${home}/sub`);
    },
  };
}

Deno.test("a subfolder swapped for a symlink after the listing: the file outside is neither uploaded nor deleted, that file fails source_replaced", async () => {
  const creds = await stack();
  const sql = await adminSql();
  const dir = await Deno.makeTempDir({ prefix: "stowage-cli-swap-" });
  const user = await createUser();
  const src = await fixture(dir, user.id);
  let swapped = false;
  // --concurrency 1 copies in key order: `a-first.json`'s upload arrives before `sub/` is
  // opened. The swap happens then, after the listing and the plan.
  const server = proxy(creds.url, async (req) => {
    if (!swapped && req.method === "POST" && req.url.endsWith("/a-first.json")) {
      swapped = true;
      await src.swap();
    }
  });
  try {
    const run = await runCli([
      "migrate",
      `${dir}/src`,
      "--to",
      "anantra-lms-store",
      "--execute",
      "--delete-after",
      "--concurrency",
      "1",
      "--db-url",
      creds.dbUrl,
      "--plan-out",
      `${dir}/p.json`,
    ], {
      SUPABASE_URL: `http://127.0.0.1:${server.addr.port}`,
      SUPABASE_SECRET_KEY: creds.secretKey,
    });
    assert.equal(swapped, true);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const report = JSON.parse(await Deno.readTextFile(`${dir}/p.json.report.json`));
    const home = `user_data/${user.id}/`;
    assert.deepEqual(report.copied.map((c: { source: string }) => c.source), [
      `${home}a-first.json`,
    ]);
    assert.deepEqual(
      report.failed.map((f: { source: string; code: string }) => [f.source, f.code]),
      [[`${home}sub/secret.json`, "source_replaced"]],
    );
    assert.match(report.failed[0].message, /folder "user_data\/[^"]+\/sub" is now a symlink/);
    assert.deepEqual(
      report.refused.map((r: { source: string; code: string }) => [r.source, r.code]),
      [[`${home}link.json`, "source_symlink"]],
      "the symlink is in the plan, refused with its code",
    );
    assert.deepEqual(report.deleted, [`${home}a-first.json`]);
    assert.deepEqual(await names(sql, "anantra-lms-store", home), ["a-first.json"]);
    assert.equal(await Deno.readTextFile(`${dir}/outside/secret.json`), '{"OUTSIDE":true}');
    assert.equal(await Deno.readTextFile(`${dir}/moved/secret.json`), '{"inside":true}');
  } finally {
    await server.shutdown();
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a subfolder swapped for a symlink after the copy, before --delete-after: nothing is deleted through the link", async () => {
  const creds = await stack();
  const sql = await adminSql();
  const dir = await Deno.makeTempDir({ prefix: "stowage-cli-swap-del-" });
  const user = await createUser();
  const src = await fixture(dir, user.id);
  let swapped = false;
  // --verify full reads each copy back after the upload: when `sub/secret.json`'s read-back
  // arrives, the source was read and uploaded, and is about to be deleted.
  const server = proxy(creds.url, async (req) => {
    if (!swapped && req.method === "GET" && req.url.endsWith("/sub/secret.json")) {
      swapped = true;
      await src.swap();
    }
  });
  try {
    const run = await runCli([
      "migrate",
      `${dir}/src`,
      "--to",
      "anantra-lms-store",
      "--execute",
      "--delete-after",
      "--verify",
      "full",
      "--concurrency",
      "1",
      "--db-url",
      creds.dbUrl,
      "--plan-out",
      `${dir}/p.json`,
    ], {
      SUPABASE_URL: `http://127.0.0.1:${server.addr.port}`,
      SUPABASE_SECRET_KEY: creds.secretKey,
    });
    assert.equal(swapped, true);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const report = JSON.parse(await Deno.readTextFile(`${dir}/p.json.report.json`));
    const home = `user_data/${user.id}/`;
    assert.equal(report.counts.copied, 2);
    assert.deepEqual(
      report.failed.map((f: { source: string; code: string }) => [f.source, f.code]),
      [[`${home}sub/secret.json`, "source_replaced"]],
    );
    assert.deepEqual(report.deleted, [`${home}a-first.json`]);
    assert.equal(await Deno.readTextFile(`${dir}/outside/secret.json`), '{"OUTSIDE":true}');
    assert.equal(await Deno.readTextFile(`${dir}/moved/secret.json`), '{"inside":true}');
    // What was uploaded is the listed file, not the outside one.
    const { data } = await (await serviceClient()).storage.from("anantra-lms-store")
      .download(`${home}sub/secret.json`);
    assert.equal(await data?.text(), '{"inside":true}');
  } finally {
    await server.shutdown();
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("S3 keys with .., . or empty segments are refused in the plan (unsafe_source_key) and never fetched", async () => {
  const s3 = await startS3();
  const sql = await adminSql();
  const work = await Deno.makeTempDir({ prefix: "stowage-cli-s3-dots-" });
  const requests: string[] = [];
  const tag = crypto.randomUUID().slice(0, 8);
  const bucket = `dots-${tag}`;
  const ann = await createUser();
  const ben = await createUser();
  // Keys a real S3 stores literally. s3rver normalises dot segments when it stores, so the
  // proxy adds them to the listing; a GET of one would reach s3rver normalised: ben's file.
  const injected = [
    `user_data/${ann.id}/../${ben.id}/secret.json`,
    `user_data/${ann.id}/./dot.json`,
    `user_data/${ann.id}//double.json`,
  ];
  // Records every request and adds the injected keys to each listing page.
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: freePort(), onListen() {} },
    async (req) => {
      const url = new URL(req.url);
      requests.push(`${req.method} ${decodeURIComponent(url.pathname)}`);
      const res = await fetch(s3.endpoint + url.pathname + url.search, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        duplex: "half",
      } as RequestInit);
      if (req.method !== "GET" || !url.searchParams.has("list-type")) return res;
      const extra = injected.map((key) =>
        `<Contents><Key>${key}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>` +
        `<ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag><Size>16</Size>` +
        `<StorageClass>STANDARD</StorageClass></Contents>`
      ).join("");
      const xml = (await res.text()).replace("</ListBucketResult>", `${extra}</ListBucketResult>`);
      return new Response(xml, {
        status: res.status,
        headers: { "content-type": "application/xml" },
      });
    },
  );
  try {
    await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `user_data/${ann.id}/ok.json`,
        Body: '{"ann":1}',
        ContentType: "application/json",
      }),
    );
    await s3.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `user_data/${ben.id}/secret.json`,
        Body: '{"ben":"secret"}',
        ContentType: "application/json",
      }),
    );
    const run = await runCli([
      "migrate",
      `s3://${bucket}/user_data/${ann.id}`,
      "--to",
      `anantra-lms-store/user_data/${ann.id}`,
      "--execute",
      "--s3-endpoint",
      `http://127.0.0.1:${server.addr.port}`,
      "--s3-path-style",
      "--plan-out",
      `${work}/p.json`,
    ], { ...s3.env, STOWAGE_CREDENTIALS: Deno.env.get("STOWAGE_CREDENTIALS") ?? "" });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const plan = JSON.parse(await Deno.readTextFile(`${work}/p.json`));
    const refused = plan.items.filter((i: { action: string }) => i.action === "refuse").map((
      i: { source: string; reason: { code: string } },
    ) => [i.source, i.reason.code]);
    assert.deepEqual(
      refused.sort(),
      [
        ["./dot.json", "unsafe_source_key"],
        ["/double.json", "unsafe_source_key"],
        [`../${ben.id}/secret.json`, "unsafe_source_key"],
      ].sort(),
    );
    assert.deepEqual(await names(sql, "anantra-lms-store", `user_data/${ann.id}/`), ["ok.json"]);
    assert.deepEqual(await names(sql, "anantra-lms-store", `user_data/${ben.id}/`), []);
    // Object requests (HEAD for a type, GET for the bytes) name ok.json only.
    const objectRequests = requests.filter((r) => {
      const path = r.split(" ")[1];
      return path.startsWith(`/${bucket}/`) && path !== `/${bucket}/`; // not the listing
    });
    assert.ok(objectRequests.length > 0);
    assert.deepEqual(
      objectRequests.filter((r) => !r.endsWith(`/${bucket}/user_data/${ann.id}/ok.json`)),
      [],
      "no dotted key is fetched",
    );
  } finally {
    await server.shutdown();
    await sql.end();
    await s3.stop();
    await Deno.remove(work, { recursive: true });
  }
});
