/**
 * @module Conformance: replays every recorded call of fixtures/observed.json (the real
 * supabase/storage v1.70.6, §6 of STORAGE_API_OBSERVED.md) in order against the double,
 * with the recording's setup (bucket, RLS policies, the section-30 trigger) on a bucket of
 * its own, and compares status, body and headers (ids, timestamps, tokens, ETags masked).
 */
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { adminSql, createUser, tokenFor } from "../../tests/support/stack.ts";
import {
  compare,
  expandB64,
  FILES,
  type Names,
  type ObservedRecord,
  requestInit,
} from "./conformance.ts";
import { startServer } from "./testing.ts";

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/observed.json", import.meta.url)),
) as { records: ObservedRecord[] };

/** Records whose recorded answer this double does not reproduce (see readme "Known differences"). */
const KNOWN_DIFFERENCES: Record<string, string> = {
  // Deno's HTTP server drops `content-length: 0` from a 304; Fastify sends it.
  "23f": "header content-length: null, recorded 0",
};

function tamper(token: string): string {
  const [h, p, s] = token.split(".");
  const mid = Math.floor(s.length / 2);
  return `${h}.${p}.${s.slice(0, mid)}${s[mid] === "A" ? "B" : "A"}${s.slice(mid + 1)}`;
}

/** Version files the recording says exist after a call (old versions and failed writes removed). */
const ON_DISK: Record<string, Record<string, number>> = {
  "10b": { "hello.txt": 1 },
  "13d": { "hello.txt": 1 },
  "13e": { "hello.txt": 1 },
  "14": { "over.txt": 0 },
  "14c": { "over-multi.txt": 0 },
  "14d": { "over-chunked.txt": 1 },
  "17e": { "../../escape.txt": 0 },
  "20k": { "upsertable.txt": 1 },
  "24a": { "multi.txt": 0, "exact.txt": 0 },
  "26a": { "song.mp3": 0, "music/song.mp3": 1 },
  "30a": { "forbidden.txt": 0 },
  "30b": { "late-reject.txt": 0 },
  "30e": { "late-reject-up.txt": 0 },
  "30g": { "late-reject-signed.txt": 0 },
  "30h": { "late-reject-multi.txt": 0 },
};

async function versionsOnDisk(dataDir: string, bucket: string, key: string): Promise<number> {
  if (key.split("/").some((s) => s === "..")) return 0;
  let n = 0;
  try {
    for await (const e of Deno.readDir(`${dataDir}/${bucket}/${key}`)) {
      if (e.isFile && /^[0-9a-f-]{36}$/.test(e.name)) n++;
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return n;
}

/** A recorded cursor names the recording's user: decode, substitute later, re-encode. */
function withCursor(rec: ObservedRecord): ObservedRecord {
  const body = JSON.parse(rec.json!);
  return { ...rec, json: JSON.stringify({ ...body, cursor: `@cursor:${atob(body.cursor)}` }) };
}

Deno.test("replays the recorded Storage API calls with the recorded answers", async (t) => {
  const srv = await startServer();
  const sql = await adminSql();
  // The recording's users sort A < B (1111... < 2222...): keep that order for listings.
  const [a, b] = [await createUser(), await createUser()].sort((x, y) => x.id < y.id ? -1 : 1);
  const sfx = crypto.randomUUID().slice(0, 8);
  const bucket = `oracle-${sfx}`;
  const renamed: Record<string, string> = {
    "Bad Name!": `Bad Name! ${sfx}`,
    pub: `pub-${sfx}`,
    sized: `sized-${sfx}`,
    toobig: `toobig-${sfx}`,
    userbucket: `userbucket-${sfx}`,
  };
  const ours = new Set([bucket, ...Object.values(renamed)]);
  const expired = await tokenFor(a.id, { expiresIn: -3600 });
  const badsig = await new SignJWT({ sub: a.id, role: "authenticated" })
    .setProtectedHeader({ alg: "HS256" }).setIssuedAt().setExpirationTime("1h")
    .sign(new TextEncoder().encode("not-the-project-secret-not-the-project-secret"));
  const names: Names = {
    forward: [
      ["11111111-1111-4111-8111-111111111111", a.id],
      ["{A}", a.id],
      ["{B}", b.id],
      ["$USER_A", a.token],
      ["$USER_B", b.token],
      ["$SERVICE", srv.serviceKey],
      ["$ANON", srv.anonKey],
      ["$EXPIRED", expired],
      ["$BADSIG", badsig],
      [/oracle/g, bucket],
      ...Object.entries(renamed).map(([k, v]) =>
        [new RegExp(`(?<=[/"])${k.replace("!", "\\!")}(?=[/"]|$)`, "g"), v] as [RegExp, string]
      ),
    ],
    back: [
      [new RegExp(a.id, "g"), "{A}"],
      [new RegExp(b.id, "g"), "{B}"],
      [new RegExp(bucket, "g"), "oracle"],
      ...Object.entries(renamed).map(([k, v]) =>
        [new RegExp(v.replace("!", "\\!"), "g"), k] as [
          RegExp,
          string,
        ]
      ),
    ],
  };
  const S = { authorization: `Bearer ${srv.serviceKey}`, "content-type": "application/json" };
  const A = { authorization: `Bearer ${a.token}` };
  const P = `bucket_id = '${bucket}' and (storage.foldername(name))[1] = auth.uid()::text`;
  const uploadTokens = new Map<string, string>();
  const downloadTokens = new Map<string, string>();

  const setup = async () => {
    const r = await fetch(`${srv.url}/bucket`, {
      method: "POST",
      headers: S,
      body: JSON.stringify({
        id: bucket,
        name: bucket,
        public: false,
        file_size_limit: 1048576,
        allowed_mime_types: ["audio/mpeg", "text/plain"],
      }),
    });
    assert.equal(r.status, 200, await r.text());
    await sql.unsafe(`
      create policy "oracle_sel_${sfx}" on storage.objects for select to authenticated using (${P});
      create policy "oracle_ins_${sfx}" on storage.objects for insert to authenticated with check (${P});
      create policy "oracle_upd_${sfx}" on storage.objects for update to authenticated
        using (${P}) with check (${P});
      create policy "oracle_del_${sfx}" on storage.objects for delete to authenticated using (${P});
      create function public.oracle_trigger_${sfx}() returns trigger language plpgsql as $$
      begin
        if new.bucket_id <> '${bucket}' then return new; end if;
        if new.name like '%forbidden%' then raise exception 'forbidden name'; end if;
        if new.name like '%late-reject%' and new.metadata ? 'eTag' then
          raise exception 'late reject'; end if;
        if new.name like '%priv-reject%' then
          raise exception 'custom 42501 from trigger' using errcode = '42501'; end if;
        if new.name like '%check-reject%' then
          raise exception 'check reject' using errcode = 'check_violation'; end if;
        return new;
      end $$;
      create trigger oracle_trigger_${sfx} before insert on storage.objects
        for each row execute function public.oracle_trigger_${sfx}();`);
  };

  const cleanup = async () => {
    for (const id of ours) {
      await fetch(`${srv.url}/bucket/${encodeURIComponent(id)}/empty`, {
        method: "POST",
        headers: S,
      })
        .then((r) => r.body?.cancel());
      await fetch(`${srv.url}/bucket/${encodeURIComponent(id)}`, { method: "DELETE", headers: S })
        .then((r) => r.body?.cancel());
    }
    await sql.unsafe(`
      drop trigger if exists oracle_trigger_${sfx} on storage.objects;
      drop function if exists public.oracle_trigger_${sfx}();
      drop policy if exists "oracle_sel_${sfx}" on storage.objects;
      drop policy if exists "oracle_ins_${sfx}" on storage.objects;
      drop policy if exists "oracle_upd_${sfx}" on storage.objects;
      drop policy if exists "oracle_del_${sfx}" on storage.objects;`);
    await sql.end();
    await srv.close();
  };

  /** The calls the recording ran without recording them (seed data). */
  const seed = async (before: string) => {
    const put = (key: string, text: string) =>
      fetch(`${srv.url}/object/${bucket}/${a.id}/${key}`, {
        method: "POST",
        headers: { ...A, "content-type": "text/plain" },
        body: new TextEncoder().encode(text),
      }).then((r) => r.text());
    if (before === "18a") {
      await put("docs/a.txt", "aaaa\n");
      await put("docs/sub/b.txt", "bbbb\n");
    }
    if (before === "23n") {
      await put("tmpdel.txt", "tmp");
      const r = await fetch(`${srv.url}/object/sign/${bucket}/${a.id}/tmpdel.txt`, {
        method: "POST",
        headers: { ...A, "content-type": "application/json" },
        body: '{"expiresIn":600}',
      }).then((r) => r.json());
      downloadTokens.set(
        `${a.id}/tmpdel.txt`,
        new URL(r.signedURL, srv.url).searchParams.get("token")!,
      );
      await fetch(`${srv.url}/object/${bucket}`, {
        method: "DELETE",
        headers: { ...A, "content-type": "application/json" },
        body: JSON.stringify({ prefixes: [`${a.id}/tmpdel.txt`] }),
      }).then((r) => r.text());
    }
  };

  const resolveToken = async (rec: ObservedRecord, path: string): Promise<string> => {
    const key = decodeURIComponent(path.split("?")[0].replace(/^.*?\/sign\/[^/]+\//, ""));
    if (rec.path.includes("/upload/sign/")) {
      const own = uploadTokens.get(key);
      const signed = uploadTokens.get(`${a.id}/signed.txt`)!;
      if (rec.id === "20d") return tamper(signed);
      return own ?? signed;
    }
    const hello = downloadTokens.get(`${a.id}/hello.txt`)!;
    if (rec.id === "23c") return tamper(hello);
    if (rec.id === "23d") return hello;
    if (rec.id === "23m") {
      return await new SignJWT({ url: `${bucket}/${a.id}/hello.txt`, scope: "download" })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setIssuedAt(Math.floor(Date.now() / 1000) - 120)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
        .sign(new TextEncoder().encode(srv.legacyJwtSecret));
    }
    return downloadTokens.get(key) ?? hello;
  };

  try {
    await setup();
    for (const rec of fixture.records) {
      await seed(rec.id);
      await t.step(`${rec.id} ${rec.name}`, async () => {
        let path = rec.path.replace(/'/g, "%27");
        for (const [from, to] of names.forward) {
          path = typeof from === "string" ? path.replaceAll(from, to) : path.replace(from, to);
        }
        if (path.includes("<JWT>")) path = path.replace("<JWT>", await resolveToken(rec, path));
        const init = requestInit(rec.json?.includes('"cursor"') ? withCursor(rec) : rec, names);
        const h = init.headers as Headers;
        if (h.has("if-none-match")) {
          const head = await fetch(`${srv.url}/object/${bucket}/${a.id}/hello.txt`, {
            method: "HEAD",
            headers: A,
          });
          h.set("if-none-match", head.headers.get("etag") ?? "");
        }
        const res = await fetch(`${srv.url}${path}`, init);
        let text = await res.text();
        if (rec.method === "GET" && /^\/bucket\/?(\?|$)/.test(rec.path) && res.status === 200) {
          const all = JSON.parse(text) as { id: string }[];
          text = JSON.stringify(all.filter((x) => ours.has(x.id)));
        }
        if (res.status === 200 && text.includes('"token"')) {
          const body = JSON.parse(text);
          if (body.url?.startsWith("/object/upload/sign/")) {
            uploadTokens.set(
              decodeURIComponent(path.replace(/^.*?\/sign\/[^/]+\//, "")),
              body.token,
            );
          }
        }
        if (res.status === 200 && text.startsWith('{"signedURL"')) {
          const u = new URL(JSON.parse(text).signedURL, srv.url);
          downloadTokens.set(
            path.replace(/^\/object\/sign\/[^/]+\//, ""),
            u.searchParams.get("token")!,
          );
        }
        const diff = compare(rec, res.status, text, res.headers, names);
        assert.equal(diff, KNOWN_DIFFERENCES[rec.id] ?? null, `${rec.id} ${rec.name}: ${diff}`);
        const files = ON_DISK[rec.id];
        if (files) {
          for (const [key, count] of Object.entries(files)) {
            assert.equal(
              await versionsOnDisk(srv.dataDir, bucket, `${a.id}/${key}`),
              count,
              `${rec.id}: version files of ${key}`,
            );
          }
        }
      });
    }
    const size = FILES["exact.txt"].byteLength;
    assert.equal(size, 1048576);
  } finally {
    await cleanup();
  }
});

const derived = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/derived.json", import.meta.url)),
) as { records: ObservedRecord[] };

Deno.test("answers as the v1.70.6 source does where nothing was recorded (fixtures/derived.json)", async (t) => {
  const srv = await startServer();
  const user = await createUser();
  const bucket = `derived-${crypto.randomUUID().slice(0, 8)}`;
  const names: Names = {
    forward: [
      ["$USER_A", user.token],
      ["$SERVICE", srv.serviceKey],
      ["$ANON", srv.anonKey],
      [/derived/g, bucket],
    ],
    back: [[new RegExp(bucket, "g"), "derived"]],
  };
  const service = { authorization: `Bearer ${srv.serviceKey}` };
  const put = async (key: string, text: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${srv.url}/object/${bucket}/${key}`, {
      method: "POST",
      headers: { ...service, "content-type": "text/plain", ...headers },
      body: new TextEncoder().encode(text),
    });
    assert.equal(r.status, 200, await r.text());
  };
  try {
    const r = await fetch(`${srv.url}/bucket`, {
      method: "POST",
      headers: { ...service, "content-type": "application/json" },
      body: JSON.stringify({ id: bucket, name: bucket }),
    });
    assert.equal(r.status, 200, await r.text());
    await put("d/c.txt", "c\n");
    await put("d/b/1.txt", "1\n");
    await put("d/a.txt", "a\n");
    await put("hello.txt", "hello\n");
    await put("empty.txt", "");
    await put("gone.txt", "gone\n", { "x-metadata": btoa('{"k":"v"}') });
    await put("meta.txt", "meta\n", {
      "cache-control": "max-age=3600",
      "x-metadata": btoa('{"a":"1"}'),
    });
    // TUS records: a bucket with limits, signed-upload tokens, the ids of created uploads.
    const small = await fetch(`${srv.url}/bucket`, {
      method: "POST",
      headers: { ...service, "content-type": "application/json" },
      body: JSON.stringify({
        id: `${bucket}-small`,
        name: `${bucket}-small`,
        file_size_limit: 10,
        allowed_mime_types: ["text/plain"],
      }),
    });
    assert.equal(small.status, 200, await small.text());
    const signs = new Set(
      derived.records.flatMap((r) => r.headers.map(([, v]) => v))
        .filter((v) => /^\$SIGN(_UPSERT|_TAMPERED)?:/.test(v)),
    );
    for (const ref of signs) {
      const [kind, key] = [ref.slice(0, ref.indexOf(":")), ref.slice(ref.indexOf(":") + 1)];
      const r = await fetch(`${srv.url}/object/upload/sign/${bucket}/${key}`, {
        method: "POST",
        headers: { ...service, ...(kind === "$SIGN_UPSERT" ? { "x-upsert": "true" } : {}) },
      });
      const { token } = await r.json();
      names.forward.unshift([ref, kind === "$SIGN_TAMPERED" ? tamper(token) : token]);
    }
    const uploads = new Map<string, string>();
    for (const rec of derived.records) {
      await t.step(`${rec.id} ${rec.name}`, async () => {
        let path = rec.path.replace(/\{upload:([^}]*)\}/, (_, key: string) => uploads.get(key)!);
        for (const [from, to] of names.forward) {
          path = typeof from === "string" ? path.replaceAll(from, to) : path.replace(from, to);
        }
        const res = await fetch(`${srv.url}${expandB64(path)}`, requestInit(rec, names));
        const text = await res.text();
        const id = /\/upload\/resumable(?:\/sign)?\/([\w-]+)$/.exec(
          res.headers.get("location") ?? "",
        );
        if (res.status === 201 && id) {
          const [, ...key] = atob(id[1].replaceAll("-", "+").replaceAll("_", "/")).split("/");
          key.pop();
          uploads.set(key.join("/"), id[1]);
        }
        const diff = compare(rec, res.status, text, res.headers, names);
        assert.equal(diff, null, `${rec.id} ${rec.name} (${rec.note ?? ""}): ${diff}`);
      });
    }
  } finally {
    for (const id of [bucket, `${bucket}-small`]) {
      await fetch(`${srv.url}/bucket/${id}/empty`, { method: "POST", headers: service })
        .then((r) => r.body?.cancel());
      await fetch(`${srv.url}/bucket/${id}`, { method: "DELETE", headers: service })
        .then((r) => r.body?.cancel());
    }
    await srv.close();
  }
});
