/**
 * POST /uploads, /uploads/batch, DELETE /uploads over real HTTP against the stack:
 * success, every error code, the browser's signed-upload path, cross-user attempts.
 */
import assert from "node:assert/strict";
import { client, createUser, serviceClient, stack, tokenFor } from "../support/stack.ts";
import { type Answer, api, AUDIO, expectError, LMS } from "../support/storage.ts";

Deno.test("POST /uploads reserves, signs on the public URL, and the browser upload is listed", async () => {
  const user = await createUser();
  const reserved = await api("POST", "/uploads", user.token, {
    bucket: LMS,
    path: "course-1/notes.txt",
    size: 11,
    contentType: "text/plain",
  });
  assert.equal(reserved.status, 201, JSON.stringify(reserved.body));
  const upload = reserved.body;
  assert.equal(upload.key, `user_data/${user.id}/course-1/notes.txt`);
  assert.equal(upload.path, "course-1/notes.txt");
  assert.ok(upload.signedUrl.startsWith(`${(await stack()).url}/storage/v1/object/upload/sign/`));
  assert.ok(Date.parse(upload.expiresAt) > Date.now());
  // The Storage server's signed-upload lifetime (2 h), and a reservation that outlives it.
  assert.ok(Math.abs(Date.parse(upload.expiresAt) - Date.now() - 7200_000) < 120_000);
  // The reservation outlives the signed URL by the grace period (one hour) for the slowest upload.
  const grace = Date.parse(upload.reservationExpiresAt) - Date.parse(upload.expiresAt);
  assert.ok(Math.abs(grace - 3600_000) < 5_000, `grace ${grace} ms`);
  assert.equal(upload.contentType, "text/plain");
  assert.equal(upload.size, 11);

  const supabase = await client(user.token);
  const { error } = await supabase.storage.from(LMS).uploadToSignedUrl(
    upload.key,
    upload.token,
    new Blob(["hello world"], { type: upload.contentType }),
    { contentType: upload.contentType },
  );
  assert.equal(error, null);

  const listed = await api("GET", `/objects?bucket=${LMS}&prefix=course-1/`, user.token);
  assert.equal(listed.status, 200);
  assert.equal(listed.body.items.length, 1);
  assert.equal(listed.body.items[0].path, "course-1/notes.txt");
  assert.equal(listed.body.items[0].size, 11);
  assert.match(listed.body.items[0].contentType, /^text\/plain/);
  const quota = await api("GET", "/quota", user.token);
  assert.equal(quota.body.usedBytes, 11);
  assert.equal(quota.body.reservedBytes, 0);
});

Deno.test("POST /uploads refuses bad tokens with 401", async () => {
  const user = await createUser();
  const body = { bucket: LMS, path: "a.txt", size: 1, contentType: "text/plain" };
  expectError(await api("POST", "/uploads", null, body), 401, "unauthorized");
  expectError(await api("POST", "/uploads", "garbage", body), 401, "unauthorized");
  expectError(
    await api("POST", "/uploads", await tokenFor(user.id, { expiresIn: -60 }), body),
    401,
    "unauthorized",
  );
  expectError(
    await api("POST", "/uploads", (await stack()).publishableKey, body),
    401,
    "unauthorized",
  );
  expectError(
    await api("POST", "/uploads", await tokenFor(user.id, { role: "anon" }), body),
    401,
    "unauthorized",
  );
});

Deno.test("POST /uploads answers invalid_path, invalid_request, not_found and already_exists", async () => {
  const user = await createUser();
  const ok = { bucket: LMS, path: "c/x.json", size: 5, contentType: "application/json" };
  for (const path of ["../x", "a//b", "/a", "a/", "é.txt", "a#b", "./a"]) {
    expectError(await api("POST", "/uploads", user.token, { ...ok, path }), 400, "invalid_path");
  }
  expectError(
    await api("POST", "/uploads", user.token, { ...ok, size: -1 }),
    400,
    "invalid_request",
  );
  expectError(
    await api("POST", "/uploads", user.token, { ...ok, size: "5" }),
    400,
    "invalid_request",
  );
  expectError(await api("POST", "/uploads", user.token, { path: "a" }), 400, "invalid_request");
  expectError(
    await api("POST", "/uploads", user.token, { ...ok, bucket: "nope" }),
    404,
    "not_found",
  );

  const first = await api("POST", "/uploads", user.token, ok);
  assert.equal(first.status, 201);
  const supabase = await client(user.token);
  const { error } = await supabase.storage.from(LMS).uploadToSignedUrl(
    first.body.key,
    first.body.token,
    new Blob(["12345"], { type: "application/json" }),
    { contentType: "application/json" },
  );
  assert.equal(error, null);
  expectError(await api("POST", "/uploads", user.token, ok), 409, "already_exists");
  const upsert = await api("POST", "/uploads", user.token, { ...ok, upsert: true });
  assert.equal(upsert.status, 201);
});

Deno.test("audio: MP3 and WAV accepted, PDF 415, over 50 MB 413, free 507 past 500 MiB, paid not", async () => {
  const free = await createUser();
  const paid = await createUser({ plan: "paid" });
  const file = (path: string, size: number, contentType: string) => ({
    bucket: AUDIO,
    path,
    size,
    contentType,
  });
  assert.equal(
    (await api("POST", "/uploads", free.token, file("p/ch1/s1/a.mp3", 4_000_000, "audio/mpeg")))
      .status,
    201,
  );
  assert.equal(
    (await api("POST", "/uploads", free.token, file("p/ch1/s1/b.wav", 8_000_000, "audio/wav")))
      .status,
    201,
  );
  expectError(
    await api("POST", "/uploads", free.token, file("p/doc.pdf", 1000, "application/pdf")),
    415,
    "unsupported_media_type",
  );
  expectError(
    await api("POST", "/uploads", free.token, file("p/big.mp3", 52_428_801, "audio/mpeg")),
    413,
    "file_too_large",
  );
  // Declared sizes count against the quota: 11 files of 50 MB pass 500 MiB for a free user.
  const fifty = 50 * 1024 * 1024;
  let refused: Answer | null = null;
  for (let i = 0; i < 11 && !refused; i++) {
    const result = await api(
      "POST",
      "/uploads",
      free.token,
      file(`q/${i}.mp3`, fifty, "audio/mpeg"),
    );
    if (result.status !== 201) refused = result;
  }
  assert.ok(refused);
  expectError(refused, 507, "quota_exceeded");
  assert.equal(typeof refused.body.error.details.quotaBytes, "number");
  for (let i = 0; i < 11; i++) {
    const result = await api(
      "POST",
      "/uploads",
      paid.token,
      file(`q/${i}.mp3`, fifty, "audio/mpeg"),
    );
    assert.equal(result.status, 201, JSON.stringify(result.body));
  }
});

Deno.test("POST /uploads/batch is all or nothing", async () => {
  const user = await createUser();
  const files = [
    { path: "b/1.json", size: 10, contentType: "application/json" },
    { path: "b/2.txt", size: 10, contentType: "text/plain" },
  ];
  const ok = await api("POST", "/uploads/batch", user.token, { bucket: LMS, files });
  assert.equal(ok.status, 201);
  assert.deepEqual(ok.body.uploads.map((u: { path: string }) => u.path), ["b/1.json", "b/2.txt"]);
  const tooBig = await api("POST", "/uploads/batch", user.token, {
    bucket: LMS,
    files: [{ path: "c/1.json", size: 10, contentType: "application/json" }, {
      path: "c/2.json",
      size: 600 * 1024 * 1024,
      contentType: "application/json",
    }],
  });
  expectError(tooBig, 507, "quota_exceeded");
  const quota = await api("GET", "/quota", user.token);
  assert.equal(quota.body.reservedBytes, 20);
  const many = Array.from(
    { length: 101 },
    (_, i) => ({ path: `m/${i}`, size: 1, contentType: "text/plain" }),
  );
  expectError(
    await api("POST", "/uploads/batch", user.token, { bucket: LMS, files: many }),
    400,
    "invalid_request",
  );
  expectError(
    await api("POST", "/uploads/batch", user.token, {
      bucket: LMS,
      files: [{ ...files[0], path: "../x" }],
    }),
    400,
    "invalid_path",
  );
});

Deno.test("DELETE /uploads cancels a reservation once, then 404", async () => {
  const user = await createUser();
  await api("POST", "/uploads", user.token, {
    bucket: LMS,
    path: "z.txt",
    size: 100,
    contentType: "text/plain",
  });
  const cancel = await api("DELETE", "/uploads", user.token, { bucket: LMS, path: "z.txt" });
  assert.equal(cancel.status, 204);
  assert.equal((await api("GET", "/quota", user.token)).body.reservedBytes, 0);
  expectError(
    await api("DELETE", "/uploads", user.token, { bucket: LMS, path: "z.txt" }),
    404,
    "not_found",
  );
  expectError(
    await api("DELETE", "/uploads", user.token, { bucket: LMS, path: "../z" }),
    400,
    "invalid_path",
  );
});

Deno.test("service role may act for a named user; users may not name another user", async () => {
  const alice = await createUser();
  const bob = await createUser();
  const service = (await stack()).secretKey;
  const body = { bucket: LMS, path: "svc/a.txt", size: 3, contentType: "text/plain" };
  const acted = await api("POST", "/uploads", service, { ...body, userId: alice.id });
  assert.equal(acted.status, 201, JSON.stringify(acted.body));
  assert.equal(acted.body.key, `user_data/${alice.id}/svc/a.txt`);
  const { error } = await (await serviceClient()).storage.from(LMS).uploadToSignedUrl(
    acted.body.key,
    acted.body.token,
    new Blob(["abc"], { type: "text/plain" }),
    { contentType: "text/plain" },
  );
  assert.equal(error, null);
  assert.equal((await api("GET", "/quota", alice.token)).body.usedBytes, 3);
  expectError(await api("POST", "/uploads", service, body), 400, "invalid_request");
  expectError(
    await api("POST", "/uploads", bob.token, { ...body, userId: alice.id }),
    403,
    "forbidden",
  );
  // The service key acts for a named user only: without userId there is no one to answer for.
  expectError(await api("GET", "/quota", service), 400, "invalid_request");
});

Deno.test("a reservation's token cannot upload more bytes than declared", async () => {
  const user = await createUser();
  const reserved = await api("POST", "/uploads", user.token, {
    bucket: LMS,
    path: "small.txt",
    size: 3,
    contentType: "text/plain",
  });
  const { error } = await (await client(user.token)).storage.from(LMS).uploadToSignedUrl(
    reserved.body.key,
    reserved.body.token,
    new Blob(["far more than three bytes"], { type: "text/plain" }),
    { contentType: "text/plain" },
  );
  assert.ok(error);
  const listed = await api("GET", `/objects?bucket=${LMS}`, user.token);
  assert.deepEqual(listed.body.items, []);
});
