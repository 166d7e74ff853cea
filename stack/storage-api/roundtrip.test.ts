/**
 * @module Round trips with supabase-js (the version our functions pin) against the double,
 * as two users under RLS policies written here (each user owns the folder named by their id).
 */
import assert from "node:assert/strict";
import { adminSql, createUser } from "../../tests/support/stack.ts";
import { startServer } from "./testing.ts";

Deno.test("supabase-js round trips as two users under folder-per-user RLS", async (t) => {
  const srv = await startServer();
  const sql = await adminSql();
  const sfx = crypto.randomUUID().slice(0, 8);
  const bucket = `rt-${sfx}`;
  const [alice, bob] = [await createUser(), await createUser()];
  const service = srv.client(srv.serviceKey);
  const a = srv.client(alice.token).storage.from(bucket);
  const b = srv.client(bob.token).storage.from(bucket);
  const P = `bucket_id = '${bucket}' and (storage.foldername(name))[1] = auth.uid()::text`;
  try {
    const created = await service.storage.createBucket(bucket, { public: false });
    assert.equal(created.error, null);
    await sql.unsafe(`
      create policy "rt_sel_${sfx}" on storage.objects for select to authenticated using (${P});
      create policy "rt_ins_${sfx}" on storage.objects for insert to authenticated with check (${P});
      create policy "rt_upd_${sfx}" on storage.objects for update to authenticated
        using (${P}) with check (${P});
      create policy "rt_del_${sfx}" on storage.objects for delete to authenticated using (${P});`);
    const home = alice.id;

    await t.step("upload, duplicate, upsert, update", async () => {
      const up = await a.upload(`${home}/notes/a.txt`, "one", { contentType: "text/plain" });
      assert.equal(up.error, null);
      assert.equal(up.data?.fullPath, `${bucket}/${home}/notes/a.txt`);
      const dup = await a.upload(`${home}/notes/a.txt`, "two", { contentType: "text/plain" });
      assert.equal((dup.error as { statusCode?: string }).statusCode, "409");
      const ups = await a.upload(`${home}/notes/a.txt`, "two", {
        contentType: "text/plain",
        upsert: true,
      });
      assert.equal(ups.data?.id, up.data?.id);
      const upd = await a.update(
        `${home}/notes/a.txt`,
        new Blob(["three"], { type: "text/plain" }),
      );
      assert.equal(upd.error, null);
      const dl = await a.download(`${home}/notes/a.txt`);
      assert.equal(await dl.data?.text(), "three");
    });

    await t.step("signed upload, reusable until it expires", async () => {
      const signed = await a.createSignedUploadUrl(`${home}/up/s.bin`, { upsert: true });
      assert.equal(signed.error, null);
      for (const body of ["first", "second"]) {
        const put = await a.uploadToSignedUrl(`${home}/up/s.bin`, signed.data!.token, body, {
          contentType: "application/octet-stream",
        });
        assert.equal(put.error, null);
      }
      const info = await a.info(`${home}/up/s.bin`);
      assert.equal(info.data?.size, 6);
      assert.equal(info.data?.contentType, "application/octet-stream");
      assert.equal(await a.exists(`${home}/up/s.bin`).then((r) => r.data), true);
    });

    await t.step("list, listV2, signed URLs", async () => {
      const list = await a.list(home);
      assert.deepEqual(list.data?.map((e) => [e.name, e.id === null]), [
        ["notes", true],
        ["up", true],
      ]);
      const v2 = await a.listV2({ prefix: `${home}/`, with_delimiter: true });
      assert.deepEqual(v2.data?.folders.map((f) => f.name), [`${home}/notes/`, `${home}/up/`]);
      const flat = await a.listV2({ prefix: `${home}/` });
      assert.deepEqual(flat.data?.objects.map((o) => o.name), [
        `${home}/notes/a.txt`,
        `${home}/up/s.bin`,
      ]);
      const urls = await a.createSignedUrls([`${home}/notes/a.txt`, `${home}/nope`], 60);
      assert.equal(
        urls.data?.[1].error,
        "Either the object does not exist or you do not have access to it",
      );
      const got = await fetch(urls.data![0].signedUrl!);
      assert.equal(await got.text(), "three");
      const one = await a.createSignedUrl(`${home}/notes/a.txt`, 60, { download: "x.txt" });
      const res = await fetch(one.data!.signedUrl);
      assert.match(res.headers.get("content-disposition") ?? "", /filename=x\.txt/);
      await res.body?.cancel();
    });

    await t.step("the other user sees nothing and cannot write there", async () => {
      assert.deepEqual((await b.list(home)).data, []);
      const dl = await b.download(`${home}/notes/a.txt`);
      assert.equal((dl.error as { statusCode?: string }).statusCode, "404");
      const up = await b.upload(`${home}/evil.txt`, "x", { contentType: "text/plain" });
      assert.equal((up.error as { statusCode?: string }).statusCode, "403");
      const signed = await b.createSignedUploadUrl(`${home}/evil.txt`);
      assert.equal((signed.error as { statusCode?: string }).statusCode, "403");
      assert.deepEqual((await b.remove([`${home}/notes/a.txt`])).data, []);
      const mv = await b.move(`${home}/notes/a.txt`, `${bob.id}/stolen.txt`);
      assert.equal((mv.error as { statusCode?: string }).statusCode, "404");
    });

    await t.step("move, copy, remove", async () => {
      assert.equal((await a.move(`${home}/notes/a.txt`, `${home}/moved/a.txt`)).error, null);
      const cp = await a.copy(`${home}/moved/a.txt`, `${home}/copy/a.txt`);
      assert.equal(cp.data?.path, `${bucket}/${home}/copy/a.txt`);
      const copied = await a.download(`${home}/copy/a.txt`);
      assert.equal(await copied.data?.text(), "three");
      const rm = await a.remove([`${home}/moved/a.txt`, `${home}/copy/a.txt`, `${home}/up/s.bin`]);
      assert.equal(rm.data?.length, 3);
      assert.deepEqual((await a.list(home)).data, []);
    });
  } finally {
    await service.storage.emptyBucket(bucket);
    await service.storage.deleteBucket(bucket);
    await sql.unsafe(`
      drop policy if exists "rt_sel_${sfx}" on storage.objects;
      drop policy if exists "rt_ins_${sfx}" on storage.objects;
      drop policy if exists "rt_upd_${sfx}" on storage.objects;
      drop policy if exists "rt_del_${sfx}" on storage.objects;`);
    await sql.end();
    await srv.close();
  }
});
