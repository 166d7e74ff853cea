/**
 * Resumable (TUS) uploads with tus-js-client against the stack: `POST /uploads` with
 * `resumable: true`, then Supabase Storage's signed TUS endpoint, held to the reservation.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { SignJWT } from "jose";
import * as tus from "tus-js-client";
import { adminSql, client, createUser, stack, type TestUser } from "../support/stack.ts";
import { type Answer, api, AUDIO, LMS } from "../support/storage.ts";

const MiB = 1024 * 1024;

function bytes(n: number, seed = 7): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >> 16;
  }
  return b;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

// deno-lint-ignore no-explicit-any
type Reserved = any;

async function reserve(
  user: TestUser,
  bucket: string,
  path: string,
  size: number,
  contentType: string,
): Promise<Answer> {
  return await api("POST", "/uploads", user.token, {
    bucket,
    path,
    size,
    contentType,
    resumable: true,
  });
}

interface TusResult {
  url: string | null;
  error: (Error & { originalResponse?: tus.HttpResponse | null }) | null;
  patches: number;
  firstAccepted: number | null;
}

/** Runs a tus-js-client upload to the end (or its first error); `stopAfter` aborts after n chunks. */
function runTus(
  reserved: Reserved,
  data: Buffer,
  options: { uploadUrl?: string; stopAfter?: number; metadata?: Record<string, string> } = {},
): Promise<TusResult> {
  const r = reserved.resumable;
  return new Promise((resolve) => {
    const result: TusResult = { url: null, error: null, patches: 0, firstAccepted: null };
    const upload: tus.Upload = new tus.Upload(data, {
      endpoint: r.endpoint,
      uploadUrl: options.uploadUrl,
      headers: r.headers,
      chunkSize: r.chunkSize,
      metadata: options.metadata ?? r.metadata,
      retryDelays: [],
      removeFingerprintOnSuccess: true,
      onAfterResponse(req) {
        if (req.getMethod() === "PATCH") result.patches++;
      },
      onChunkComplete(_size, accepted) {
        result.firstAccepted ??= accepted;
        result.url = upload.url;
        if (options.stopAfter !== undefined && result.patches >= options.stopAfter) {
          upload.abort().then(() => resolve(result));
        }
      },
      onError(error) {
        result.url = upload.url;
        result.error = error as TusResult["error"];
        resolve(result);
      },
      onSuccess() {
        result.url = upload.url;
        resolve(result);
      },
    });
    upload.start();
  });
}

async function download(user: TestUser, bucket: string, key: string): Promise<Uint8Array> {
  const { data, error } = await (await client(user.token)).storage.from(bucket).download(key);
  assert.equal(error, null);
  return new Uint8Array(await data!.arrayBuffer());
}

Deno.test("POST /uploads with resumable: true answers the signed TUS endpoint, headers and 6 MiB chunks", async () => {
  const user = await createUser();
  const res = await reserve(user, LMS, "big/a.bin", 10, "application/octet-stream");
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const r = res.body.resumable;
  assert.equal(r.endpoint, `${(await stack()).url}/storage/v1/upload/resumable/sign`);
  assert.deepEqual(r.headers, { "x-signature": res.body.token });
  assert.equal(r.chunkSize, 6 * MiB);
  assert.deepEqual(r.metadata, {
    bucketName: LMS,
    objectName: `user_data/${user.id}/big/a.bin`,
    contentType: "application/octet-stream",
  });
  const plain = await api("POST", "/uploads", user.token, {
    bucket: LMS,
    path: "big/b.bin",
    size: 1,
    contentType: "application/octet-stream",
  });
  assert.equal(plain.body.resumable, undefined);
  const batch = await api("POST", "/uploads/batch", user.token, {
    bucket: LMS,
    resumable: true,
    files: [{ path: "big/c.bin", size: 1, contentType: "text/plain" }],
  });
  assert.equal(batch.status, 201, JSON.stringify(batch.body));
  assert.equal(batch.body.uploads[0].resumable.headers["x-signature"], batch.body.uploads[0].token);
});

Deno.test("a 20 MB file goes up with tus-js-client in 6 MiB chunks and lands whole", async () => {
  const user = await createUser();
  const data = bytes(20 * 1000 * 1000);
  const res = await reserve(user, AUDIO, "book/ch1/s1.mp3", data.length, "audio/mpeg");
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const result = await runTus(res.body, data);
  assert.equal(result.error, null, String(result.error));
  assert.equal(result.patches, 4); // 6 + 6 + 6 + 1.1 MiB
  const got = await download(user, AUDIO, res.body.key);
  assert.equal(sha256(got), sha256(data));
  const quota = await api("GET", "/quota", user.token);
  assert.equal(quota.body.usedBytes, data.length);
  assert.equal(quota.body.reservedBytes, 0);
});

Deno.test("an interrupted TUS upload resumes from its URL without sending the first chunks again", async () => {
  const user = await createUser();
  const data = bytes(14 * MiB, 3);
  const res = await reserve(user, LMS, "resume/x.bin", data.length, "application/octet-stream");
  assert.equal(res.status, 201);
  const first = await runTus(res.body, data, { stopAfter: 1 });
  assert.equal(first.error, null);
  assert.ok(first.url, "the upload URL is known after the first chunk");
  // The server kept the first chunk on disk: HEAD tells the offset.
  const head = await fetch(first.url!, {
    method: "HEAD",
    headers: { "Tus-Resumable": "1.0.0", ...res.body.resumable.headers },
  });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("upload-offset"), String(6 * MiB));
  // A new client (as after a page reload) resumes from the URL.
  const second = await runTus(res.body, data, { uploadUrl: first.url! });
  assert.equal(second.error, null, String(second.error));
  assert.equal(second.patches, 2, "only the two chunks not yet stored are sent");
  assert.equal(second.firstAccepted, 12 * MiB);
  assert.equal(sha256(await download(user, LMS, res.body.key)), sha256(data));
});

Deno.test("TUS: more bytes than reserved, or another type, never become an object; the chunks go", async () => {
  const user = await createUser();
  const res = await reserve(user, LMS, "over.bin", 1000, "application/octet-stream");
  assert.equal(res.status, 201);
  const result = await runTus(res.body, bytes(7 * MiB));
  assert.ok(result.error, "refused");
  assert.equal(result.error!.originalResponse?.getStatus(), 403);
  assert.match(result.error!.originalResponse?.getBody() ?? "", /^upload_too_large: /);
  // The stored chunks are gone with the refusal.
  const head = await fetch(result.url!, {
    method: "HEAD",
    headers: { "Tus-Resumable": "1.0.0", ...res.body.resumable.headers },
  });
  assert.equal(head.status, 404);
  await head.body?.cancel();
  const listed = await api("GET", `/objects?bucket=${LMS}&prefix=`, user.token);
  assert.deepEqual(listed.body.items, []);
  // The reservation stays open for a retry with the right bytes.
  const quota = await api("GET", "/quota", user.token);
  assert.equal(quota.body.usedBytes, 0);
  assert.equal(quota.body.reservedBytes, 1000);

  const typed = await reserve(user, LMS, "typed.txt", 10, "text/plain");
  const other = await runTus(typed.body, bytes(10), {
    metadata: { ...typed.body.resumable.metadata, contentType: "text/html" },
  });
  assert.equal(other.error?.originalResponse?.getStatus(), 403);
  assert.match(other.error?.originalResponse?.getBody() ?? "", /^unsupported_media_type: /);
  assert.deepEqual((await api("GET", `/objects?bucket=${LMS}&prefix=`, user.token)).body.items, []);
});

Deno.test("TUS: a bucket's type and size limits refuse the upload at creation", async () => {
  const user = await createUser();
  const res = await reserve(user, AUDIO, "a.mp3", 10, "audio/mpeg");
  const r = res.body.resumable;
  const post = (metadata: Record<string, string>, length: number) =>
    fetch(r.endpoint, {
      method: "POST",
      headers: {
        "Tus-Resumable": "1.0.0",
        "Upload-Length": String(length),
        "Upload-Metadata": Object.entries(metadata).map(([k, v]) => `${k} ${btoa(v)}`).join(","),
        ...r.headers,
      },
    });
  const html = await post({ ...r.metadata, contentType: "text/html" }, 10);
  assert.equal(html.status, 415);
  assert.equal(await html.text(), "mime type text/html is not supported");
  const huge = await post(r.metadata, 60 * 1000 * 1000); // audiofiles: 50 MB
  assert.equal(huge.status, 413);
  await huge.body?.cancel();
});

Deno.test("TUS: a replayed signature, a forged or expired one, and none at all are refused", async () => {
  const user = await createUser();
  const data = bytes(100);
  const res = await reserve(user, LMS, "once.bin", data.length, "application/octet-stream");
  const done = await runTus(res.body, data);
  assert.equal(done.error, null);
  // Replayed: the same token again creates an upload, but its last byte finds no reservation.
  const replay = await runTus(res.body, data);
  assert.equal(replay.error?.originalResponse?.getStatus(), 403);
  assert.match(replay.error?.originalResponse?.getBody() ?? "", /^no_reservation: /);

  const r = res.body.resumable;
  const create = (signature: string | null) =>
    fetch(r.endpoint, {
      method: "POST",
      headers: {
        "Tus-Resumable": "1.0.0",
        "Upload-Length": "1",
        "Upload-Metadata": `bucketName ${btoa(LMS)},objectName ${btoa(r.metadata.objectName)}`,
        ...(signature === null ? {} : { "x-signature": signature }),
      },
    });
  const none = await create(null);
  assert.equal(none.status, 400);
  assert.equal(await none.text(), "Missing x-signature header");
  const secret = new TextEncoder().encode((await stack()).legacyJwtSecret);
  const expired = await new SignJWT({
    url: `${LMS}/${r.metadata.objectName}`,
    owner: user.id,
    upsert: false,
  }).setProtectedHeader({ alg: "HS256" }).setIssuedAt(Math.floor(Date.now() / 1000) - 7300)
    .setExpirationTime(Math.floor(Date.now() / 1000) - 100).sign(secret);
  const old = await create(expired);
  assert.equal(old.status, 400);
  assert.match(await old.text(), /exp/);
  const forged = await create(res.body.token.slice(0, -4) + "AAAA");
  assert.equal(forged.status, 400);
  await forged.body?.cancel();
});

Deno.test("TUS with a URL the service key signed still needs a reservation in a home", async () => {
  const user = await createUser();
  const s = await stack();
  const key = `user_data/${user.id}/sneak.bin`;
  const sign = await fetch(`${s.url}/storage/v1/object/upload/sign/${LMS}/${key}`, {
    method: "POST",
    headers: { apikey: s.secretKey },
  });
  assert.equal(sign.status, 200);
  const { token } = await sign.json();
  const result = await runTus({
    resumable: {
      endpoint: `${s.url}/storage/v1/upload/resumable/sign`,
      headers: { "x-signature": token },
      chunkSize: 6 * MiB,
      metadata: { bucketName: LMS, objectName: key, contentType: "text/plain" },
    },
  }, bytes(10));
  assert.equal(result.error?.originalResponse?.getStatus(), 403);
  assert.match(result.error?.originalResponse?.getBody() ?? "", /^no_reservation: /);
  const sql = await adminSql();
  try {
    const rows =
      await sql`select 1 from storage.objects where bucket_id = ${LMS} and name = ${key}`;
    assert.equal(rows.length, 0);
  } finally {
    await sql.end();
  }
});

Deno.test("TUS on the user endpoint: a declared length over the reservation is refused at creation", async () => {
  const user = await createUser();
  const res = await reserve(user, LMS, "early.bin", 100, "application/octet-stream");
  const s = await stack();
  const post = (length: number) =>
    fetch(`${s.url}/storage/v1/upload/resumable`, {
      method: "POST",
      headers: {
        "Tus-Resumable": "1.0.0",
        authorization: `Bearer ${user.token}`,
        apikey: s.publishableKey,
        "Upload-Length": String(length),
        "Upload-Metadata": `bucketName ${btoa(LMS)},objectName ${btoa(res.body.key)},contentType ${
          btoa("application/octet-stream")
        }`,
      },
    });
  const over = await post(101);
  assert.equal(over.status, 403);
  assert.match(await over.text(), /^upload_too_large: 101 bytes declared > reserved 100/);
  const ok = await post(100);
  assert.equal(ok.status, 201);
  await ok.body?.cancel();
});

Deno.test("50 concurrent resumable reservations never pass the quota", async () => {
  const user = await createUser();
  const sql = await adminSql();
  try {
    await sql`insert into stowage.plans (id, quota_bytes) values ('tus-race', 7000)
      on conflict (id) do nothing`;
    await sql`select stowage.set_plan(${user.id}::uuid, 'tus-race')`;
  } finally {
    await sql.end();
  }
  const answers = await Promise.all(
    Array.from(
      { length: 50 },
      (_, i) => reserve(user, LMS, `race/${i}.bin`, 1000, "application/octet-stream"),
    ),
  );
  const granted = answers.filter((a) => a.status === 201);
  assert.equal(granted.length, 7);
  assert.ok(answers.every((a) => a.status === 201 || a.body.error.code === "quota_exceeded"));
  assert.ok(granted.every((a) => a.body.resumable.headers["x-signature"] === a.body.token));
});

Deno.test("TUS: a reservation made without upsert never overwrites a file moved onto its key since", async () => {
  // v1.70.6's signed TUS endpoint runs no existence check and completes with an upsert, so the
  // reservation's own `upsert: false` is what keeps a file that reached the key after it.
  const user = await createUser();
  const late = await reserve(user, LMS, "late.bin", 10, "application/octet-stream");
  assert.equal(late.status, 201, JSON.stringify(late.body));
  const other = await reserve(user, LMS, "other.bin", 4, "application/octet-stream");
  assert.equal((await runTus(other.body, bytes(4, 1))).error, null);
  const sb = await client(user.token);
  const moved = await sb.storage.from(LMS).move(other.body.key, late.body.key);
  assert.equal(moved.error, null, String(moved.error));

  const result = await runTus(late.body, bytes(10, 2));
  assert.equal(result.error?.originalResponse?.getStatus(), 403, String(result.error));
  assert.match(result.error?.originalResponse?.getBody() ?? "", /^already_exists: /);
  assert.deepEqual(await download(user, LMS, late.body.key), new Uint8Array(bytes(4, 1)));

  // Reserved with upsert, the same upload replaces it.
  const again = await api("POST", "/uploads", user.token, {
    bucket: LMS,
    path: "late.bin",
    size: 10,
    contentType: "application/octet-stream",
    resumable: true,
    upsert: true,
  });
  assert.equal(again.status, 201, JSON.stringify(again.body));
  assert.equal((await runTus(again.body, bytes(10, 2))).error, null);
  assert.deepEqual(await download(user, LMS, late.body.key), new Uint8Array(bytes(10, 2)));
  const quota = await api("GET", "/quota", user.token);
  assert.equal(quota.body.usedBytes, 10);
});
