/**
 * @module `stowage migrate` from S3 (s3rver) into the LMS bucket, end to end: 3,000
 * objects across nested prefixes (ListObjectsV2 pages crossed), empty files, a 60 MB
 * file, keys Storage refuses, `{email}` homes mapped to user ids, an unknown email.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { adminSql, createUser } from "../support/stack.ts";
import { bytes, runCli, startS3 } from "../support/cli.ts";

Deno.test("migrate s3:// -> anantra-lms-store: plan, execute, second run copies nothing", async () => {
  const s3 = await startS3();
  const sql = await adminSql();
  const work = await Deno.makeTempDir({ prefix: "stowage-cli-s3-" });
  try {
    const tag = crypto.randomUUID().slice(0, 8);
    const ann = await createUser({ email: `ann-${tag}@test.example` });
    const ben = await createUser({ email: `ben-${tag}@test.example` });
    const bucket = `lms-${tag}`;
    await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
    // The seed's layout: user_data/{email}/{course}/..., the email in any case.
    const objects: [string, Uint8Array | string, string?][] = [];
    for (let i = 0; i < 3000; i++) {
      const email = i % 2 === 0 ? `Ann-${tag}@Test.example` : ben.email;
      objects.push([
        `user_data/${email}/course${i % 5}/lesson${i % 10}/f${i}.json`,
        `{"i":${i}}`,
        "application/json",
      ]);
    }
    objects.push([`user_data/${ann.email}/course0/empty-1.txt`, new Uint8Array(0)], [
      `user_data/${ben.email}/empty-2.txt`,
      new Uint8Array(0),
    ]);
    const big = bytes(60 * 1024 * 1024, 7);
    objects.push([`user_data/${ann.email}/course0/index.faiss`, big]);
    objects.push([`user_data/${ann.email}/course0/Résumé #1.txt`, "cv"], [
      `user_data/${ben.email}/a[1].json`,
      "{}",
    ]);
    objects.push([`user_data/ghost-${tag}@test.example/c/x.json`, "{}"]);
    for (let i = 0; i < objects.length; i += 64) {
      await Promise.all(
        objects.slice(i, i + 64).map(([Key, Body, ContentType]) =>
          s3.client.send(new PutObjectCommand({ Bucket: bucket, Key, Body, ContentType }))
        ),
      );
    }
    const creds = Deno.env.get("STOWAGE_CREDENTIALS") ?? "";
    const env = { ...s3.env, STOWAGE_CREDENTIALS: creds };
    const base = [
      "migrate",
      `s3://${bucket}/user_data`,
      "--to",
      "anantra-lms-store/user_data",
      "--map-users",
      "--s3-endpoint",
      s3.endpoint,
      "--s3-path-style",
    ];
    const homes = [ann.id, ben.id].map((id) => `user_data/${id}/`);
    const count = async () =>
      Number(
        (await sql`select count(*)::int as n from storage.objects where bucket_id = 'anantra-lms-store'
        and (starts_with(name, ${homes[0]}) or starts_with(name, ${homes[1]}))`)[0].n,
      );

    // Dry run: a plan, nothing copied.
    const dry = await runCli([...base, "--plan-out", `${work}/plan.json`], env);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(await Deno.readTextFile(`${work}/plan.json`));
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(plan.totals).map(([k, v]) => [k, (v as { objects: number }).objects]),
      ),
      { copy: 3003, rename: 2, skip: 0, refuse: 1 },
    );
    const refused = plan.items.filter((i: { action: string }) => i.action === "refuse");
    assert.deepEqual(refused.map((i: { reason: { code: string } }) => i.reason.code), [
      "unknown_user",
    ]);
    assert.deepEqual(plan.users.map((u: { email: string }) => u.email).sort(), [
      ann.email,
      ben.email,
    ]);
    assert.match(dry.stdout, /Renamed \(keys Storage refuses\) \(2\)/);
    assert.equal(await count(), 0, "a dry run copies nothing");

    // Execute.
    const run = await runCli([...base, "--execute", "--plan-out", `${work}/plan.json`], env);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    // The 60 MB upload waits for its socket to drain many times: no listener piles up.
    assert.doesNotMatch(run.stderr, /MaxListenersExceededWarning/);
    const report = JSON.parse(await Deno.readTextFile(`${work}/plan.json.report.json`));
    assert.deepEqual(report.counts, {
      copied: 3005,
      renamed: 2,
      skipped: 0,
      refused: 1,
      failed: 0,
      deleted: 0,
    });
    assert.equal(await count(), 3005);
    const [faiss] =
      await sql`select metadata from storage.objects where bucket_id = 'anantra-lms-store'
      and name = ${`user_data/${ann.id}/course0/index.faiss`}`;
    assert.equal(faiss.metadata.size, big.byteLength);
    assert.equal(
      faiss.metadata.eTag.replaceAll('"', ""),
      createHash("md5").update(big).digest("hex"),
    );
    const [json] =
      await sql`select metadata from storage.objects where bucket_id = 'anantra-lms-store'
      and name = ${`user_data/${ann.id}/course0/lesson0/f0.json`}`;
    assert.equal(json.metadata.mimetype, "application/json");
    // Sorted by target, the order would depend on which random user id is smaller.
    const renamed: string[] = report.renamed.map((r: { target: string }) => r.target);
    assert.equal(renamed.length, 2);
    assert.ok(
      renamed.some((t) =>
        new RegExp(`^user_data/${ann.id}/course0/Resume _1-[0-9a-f]{8}\\.txt$`).test(t)
      ),
      `Résumé #1.txt renamed: ${renamed}`,
    );
    assert.ok(
      renamed.some((t) => new RegExp(`^user_data/${ben.id}/a_1_-[0-9a-f]{8}\\.json$`).test(t)),
      `a[1].json renamed: ${renamed}`,
    );

    // Second run: everything already there.
    const again = await runCli([...base, "--execute", "--plan-out", `${work}/plan2.json`], env);
    assert.equal(again.code, 0, again.stderr);
    const second = JSON.parse(await Deno.readTextFile(`${work}/plan2.json.report.json`));
    assert.equal(second.counts.copied, 0);
    assert.equal(second.counts.skipped, 3005);
    assert.equal(await count(), 3005);
  } finally {
    await sql.end();
    await s3.stop();
    await Deno.remove(work, { recursive: true });
  }
});
