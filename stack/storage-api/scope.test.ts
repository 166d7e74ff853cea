/**
 * @module What triggers see: the transaction scope of each upload phase (role, claims,
 * sub, operation, method, path), and a trigger's SQLSTATE 42501 reaching the client as
 * the real server sends it (HTTP 400, statusCode "403", the trigger's message), with the
 * new bytes removed when the final write is refused. Also Kong's CORS answers.
 */
import assert from "node:assert/strict";
import { adminSql, createUser } from "../../tests/support/stack.ts";
import { createStorageApi } from "./mod.ts";
import { startServer } from "./testing.ts";

Deno.test("triggers see the real scope per phase; 42501 reaches the client", async (t) => {
  const srv = await startServer();
  const sql = await adminSql();
  const user = await createUser();
  const sfx = crypto.randomUUID().slice(0, 8);
  const bucket = `scope-${sfx}`;
  const S = { authorization: `Bearer ${srv.serviceKey}`, "content-type": "application/json" };
  const U = { authorization: `Bearer ${user.token}`, "content-type": "text/plain" };
  const upload = (key: string, headers: Record<string, string> = U, method = "POST") =>
    fetch(`${srv.url}/object/${bucket}/${user.id}/${key}`, {
      method,
      headers,
      body: new TextEncoder().encode("bytes"),
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
  try {
    assert.equal(
      await fetch(`${srv.url}/bucket`, {
        method: "POST",
        headers: S,
        body: JSON.stringify({ name: bucket }),
      }).then((r) => r.status),
      200,
    );
    await sql.unsafe(`
      create policy "scope_ins_${sfx}" on storage.objects for insert to authenticated
        with check (bucket_id = '${bucket}');
      create policy "scope_sel_${sfx}" on storage.objects for select to authenticated
        using (bucket_id = '${bucket}');
      create function public.scope_probe_${sfx}() returns trigger language plpgsql as $$
      begin
        if new.bucket_id = '${bucket}' and (new.name like '%probe-test%'
            or (new.name like '%probe-final%' and new.metadata ? 'eTag')) then
          raise exception using errcode = '42501', message = concat_ws('|', current_user,
            current_setting('request.jwt.claim.sub', true),
            current_setting('request.jwt.claim.role', true),
            current_setting('request.jwt.claims', true)::jsonb ->> 'role',
            current_setting('storage.operation', true),
            current_setting('request.method', true),
            current_setting('request.path', true),
            current_setting('storage.allow_delete_query', true),
            coalesce(new.owner_id, '-'),
            coalesce(new.metadata ->> 'mimetype', '-'));
        end if;
        return new;
      end $$;
      create trigger scope_probe_${sfx} before insert on storage.objects
        for each row execute function public.scope_probe_${sfx}();`);

    await t.step("permission test: the caller's role and claims", async () => {
      const r = await upload("probe-test.txt");
      assert.equal(r.status, 400);
      assert.deepEqual(r.body, {
        statusCode: "403",
        error: "Unauthorized",
        message: [
          "authenticated",
          user.id,
          "authenticated",
          "authenticated",
          "storage.object.upload",
          "POST",
          `/object/${bucket}/${user.id}/probe-test.txt`,
          "true",
          user.id,
          "text/plain",
        ].join("|"),
        code: "AccessDenied",
      });
    });

    await t.step("final write: service_role, empty sub, owner_id on the row", async () => {
      const r = await upload("probe-final.txt", U, "PUT");
      assert.equal(r.status, 400);
      assert.equal(r.body.statusCode, "403");
      assert.equal(
        r.body.message,
        [
          "service_role",
          "",
          "service_role",
          "service_role",
          "storage.object.upload_update",
          "PUT",
          `/object/${bucket}/${user.id}/probe-final.txt`,
          "true",
          user.id,
          "text/plain",
        ].join("|"),
      );
      const dir = `${srv.dataDir}/${bucket}/${user.id}/probe-final.txt`;
      const left = await Array.fromAsync(Deno.readDir(dir)).catch(() => []);
      assert.deepEqual(left, [], "the new version file is removed");
      const rows = await sql`
        select 1 from storage.objects where bucket_id = ${bucket} and name like '%probe-final%'`;
      assert.equal(rows.length, 0);
    });

    await t.step("signed upload: operation upload_signed, owner from the token", async () => {
      const sign = await fetch(
        `${srv.url}/object/upload/sign/${bucket}/${user.id}/probe-final-signed.txt`,
        { method: "POST", headers: { authorization: `Bearer ${user.token}` } },
      ).then((r) => r.json());
      const r = await fetch(`${srv.url}${sign.url}`, {
        method: "PUT",
        headers: { "content-type": "text/plain" },
        body: new TextEncoder().encode("x"),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
      assert.equal(r.status, 400);
      const parts = r.body.message.split("|");
      assert.deepEqual([parts[0], parts[1], parts[4], parts[8]], [
        "service_role",
        "",
        "storage.object.upload_signed",
        user.id,
      ]);
    });
  } finally {
    await sql.unsafe(`
      drop trigger if exists scope_probe_${sfx} on storage.objects;
      drop function if exists public.scope_probe_${sfx}();
      drop policy if exists "scope_ins_${sfx}" on storage.objects;
      drop policy if exists "scope_sel_${sfx}" on storage.objects;`);
    const auth = { authorization: `Bearer ${srv.serviceKey}` };
    await fetch(`${srv.url}/bucket/${bucket}/empty`, { method: "POST", headers: auth })
      .then((r) => r.body?.cancel());
    await fetch(`${srv.url}/bucket/${bucket}`, { method: "DELETE", headers: auth })
      .then((r) => r.body?.cancel());
    await sql.end();
    await srv.close();
  }
});

Deno.test("CORS: preflight answered as Kong does, every response allows any origin", async () => {
  const api = createStorageApi({
    databaseUrl: "postgresql://nobody@127.0.0.1:1/none",
    dataDir: await Deno.makeTempDir(),
    legacyJwtSecret: "a-secret-that-is-long-enough-for-hs256-0000",
    jwks: { keys: [] },
  });
  try {
    const pre = await api.handler(
      new Request("http://x/object/upload/sign/b/k.txt?token=t", {
        method: "OPTIONS",
        headers: {
          origin: "http://elsewhere.example",
          "access-control-request-method": "PUT",
          "access-control-request-headers": "content-type,x-upsert",
        },
      }),
    );
    assert.equal(pre.status, 200);
    assert.equal(pre.headers.get("access-control-allow-origin"), "*");
    assert.match(pre.headers.get("access-control-allow-methods") ?? "", /PUT/);
    assert.equal(pre.headers.get("access-control-allow-headers"), "content-type,x-upsert");
    const missing = await api.handler(new Request("http://x/nope"));
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("access-control-allow-origin"), "*");
    await missing.body?.cancel();
  } finally {
    await api.close();
  }
});
