/**
 * A backend acting for a user (service key + `userId`) on every route of the
 * storage function, under the user's homes, quota and limits; and the
 * refusals: a user naming another user (403), an anon or publishable key
 * naming one (401), a service call without `userId` (400) or for an unknown
 * user (404), a path leaving the home (400).
 */
import assert from "node:assert/strict";
import { adminSql, createUser, serviceClient, stack, type TestUser } from "../support/stack.ts";
import { api, AUDIO, CODE, expectError, LMS, seedLms } from "../support/storage.ts";

async function service(): Promise<string> {
  return (await stack()).secretKey;
}

async function keysOf(bucket: string, prefix: string): Promise<string[]> {
  const sql = await adminSql();
  try {
    const rows = await sql<{ name: string }[]>`
      select name from storage.objects where bucket_id = ${bucket}
        and starts_with(name, ${prefix}) order by name collate "C"`;
    return rows.map((r) => r.name);
  } finally {
    await sql.end();
  }
}

const home = (user: TestUser) => `user_data/${user.id}/`;

Deno.test("a backend lists a user's folder with userId, and only that user's", async () => {
  const alice = await createUser();
  const bob = await createUser();
  await seedLms(alice, ["c1/a.json", "c1/b.json", "c2/x.json"]);
  await seedLms(bob, ["c1/bob.json"]);
  const key = await service();
  const one = await api("GET", `/objects?bucket=${LMS}&prefix=c1/&userId=${alice.id}`, key);
  assert.equal(one.status, 200, JSON.stringify(one.body));
  assert.deepEqual(one.body.items.map((i: { path: string }) => i.path), ["c1/a.json", "c1/b.json"]);
  const deep = await api(
    "GET",
    `/objects?bucket=${LMS}&recursive=true&limit=2&userId=${alice.id}`,
    key,
  );
  assert.equal(deep.body.items.length, 2);
  const next = await api(
    "GET",
    `/objects?bucket=${LMS}&recursive=true&limit=2&userId=${alice.id}&cursor=${deep.body.nextCursor}`,
    key,
  );
  assert.deepEqual(next.body.items.map((i: { path: string }) => i.path), ["c2/x.json"]);
  // The same query as the user gives the same answer.
  const own = await api("GET", `/objects?bucket=${LMS}&prefix=c1/&userId=${alice.id}`, alice.token);
  assert.deepEqual(own.body, one.body);
});

Deno.test("a backend deletes named files and whole folders of a user, nobody else's", async () => {
  const alice = await createUser();
  const bob = await createUser();
  await seedLms(alice, ["course-1/a.json", "course-1/deep/b.json", "course-2/c.json"]);
  await seedLms(bob, ["course-1/a.json", "course-1/deep/b.json"]);
  const key = await service();

  const named = await api("DELETE", "/objects", key, {
    bucket: LMS,
    paths: ["course-2/c.json", "course-2/missing.json"],
    userId: alice.id,
  });
  assert.equal(named.status, 200, JSON.stringify(named.body));
  assert.deepEqual(named.body, {
    deleted: ["course-2/c.json"],
    notFound: ["course-2/missing.json"],
    failed: [],
  });

  const folder = await api("DELETE", "/folders", key, {
    bucket: LMS,
    prefix: "course-1/",
    userId: alice.id,
  });
  assert.equal(folder.status, 200, JSON.stringify(folder.body));
  assert.equal(folder.body.deleted, 2);
  assert.equal(folder.body.done, true);
  assert.deepEqual(await keysOf(LMS, home(alice)), []);
  assert.deepEqual(await keysOf(LMS, home(bob)), [
    `${home(bob)}course-1/a.json`,
    `${home(bob)}course-1/deep/b.json`,
  ]);
  const quota = await api("GET", `/quota?userId=${alice.id}`, key);
  assert.equal(quota.status, 200, JSON.stringify(quota.body));
  assert.equal(quota.body.objectCount, 0);
  assert.equal(quota.body.usedBytes, 0);
  // A whole home still needs confirm, for a backend too.
  expectError(
    await api("DELETE", "/folders", key, { bucket: LMS, prefix: "", userId: bob.id }),
    400,
    "invalid_request",
  );
});

Deno.test("a backend signs download links for a user's files and reads their quota", async () => {
  const alice = await createUser({ plan: "paid" });
  const key = await service();
  // CodebeGen's background upload: reserve for the user, upload with the service key.
  const reserved = await api("POST", "/uploads", key, {
    bucket: CODE,
    path: "proj/generations/v1__abc.tar.gz",
    size: 5,
    contentType: "application/gzip",
    userId: alice.id,
  });
  assert.equal(reserved.status, 201, JSON.stringify(reserved.body));
  const { error } = await (await serviceClient()).storage.from(CODE).uploadToSignedUrl(
    reserved.body.key,
    reserved.body.token,
    new Blob(["hello"], { type: "application/gzip" }),
    { contentType: "application/gzip" },
  );
  assert.equal(error, null);

  const links = await api("POST", "/downloads", key, {
    bucket: CODE,
    paths: ["proj/generations/v1__abc.tar.gz", "proj/none.tar.gz"],
    userId: alice.id,
  });
  assert.equal(links.status, 200, JSON.stringify(links.body));
  assert.equal(links.body.urls[1].error.code, "not_found");
  const got = await fetch(links.body.urls[0].signedUrl);
  assert.equal(got.status, 200);
  assert.equal(await got.text(), "hello");

  const quota = await api("GET", `/quota?userId=${alice.id}`, key);
  assert.equal(quota.status, 200, JSON.stringify(quota.body));
  assert.equal(quota.body.plan, "paid");
  assert.equal(quota.body.usedBytes, 5);
  assert.equal(quota.body.objectCount, 1);
  assert.deepEqual((await api("GET", "/quota", alice.token)).body, quota.body);
});

Deno.test("a backend reserves in batches and cancels for a user, within the user's quota", async () => {
  const alice = await createUser();
  const key = await service();
  const batch = await api("POST", "/uploads/batch", key, {
    bucket: AUDIO,
    files: [
      { path: "p/ch1/s1/a.mp3", size: 1000, contentType: "audio/mpeg" },
      { path: "p/ch1/s1/b.mp3", size: 2000, contentType: "audio/mpeg" },
    ],
    userId: alice.id,
  });
  assert.equal(batch.status, 201, JSON.stringify(batch.body));
  assert.equal(batch.body.uploads[0].key, `${alice.id}/p/ch1/s1/a.mp3`);
  assert.equal((await api("GET", `/quota?userId=${alice.id}`, key)).body.reservedBytes, 3000);
  const cancel = await api("DELETE", "/uploads", key, {
    bucket: AUDIO,
    path: "p/ch1/s1/a.mp3",
    userId: alice.id,
  });
  assert.equal(cancel.status, 204);
  assert.equal((await api("GET", "/quota", alice.token)).body.reservedBytes, 2000);
  // The user's plan, the bucket's limits: the same for a backend.
  expectError(
    await api("POST", "/uploads", key, {
      bucket: LMS,
      path: "huge.bin",
      size: 600 * 1024 * 1024,
      contentType: "application/octet-stream",
      userId: alice.id,
    }),
    507,
    "quota_exceeded",
  );
  expectError(
    await api("POST", "/uploads", key, {
      bucket: AUDIO,
      path: "x.txt",
      size: 1,
      contentType: "text/plain",
      userId: alice.id,
    }),
    415,
    "unsupported_media_type",
  );
});

/** Every route that takes userId, as [method, path, body], naming `userId` when given. */
function actingRoutes(userId?: string): [string, string, unknown][] {
  const q = userId ? `&userId=${userId}` : "";
  return [
    ["GET", `/objects?bucket=${LMS}${q}`, undefined],
    ["DELETE", "/objects", { bucket: LMS, paths: ["a.json"], userId }],
    ["DELETE", "/folders", { bucket: LMS, prefix: "c/", userId }],
    ["POST", "/downloads", { bucket: LMS, paths: ["a.json"], userId }],
    ["GET", userId ? `/quota?userId=${userId}` : "/quota", undefined],
    ["POST", "/uploads", {
      bucket: LMS,
      path: "a.json",
      size: 1,
      contentType: "text/plain",
      userId,
    }],
    [
      "POST",
      "/uploads/batch",
      { bucket: LMS, files: [{ path: "a.json", size: 1, contentType: "text/plain" }], userId },
    ],
    ["DELETE", "/uploads", { bucket: LMS, path: "a.json", userId }],
    ["GET", `/events?limit=10${q}`, undefined],
  ];
}

Deno.test("a user naming another user's userId is refused on every route (403), touching nothing", async () => {
  const alice = await createUser();
  const bob = await createUser();
  await seedLms(alice, ["a.json", "c/b.json"]);
  for (const [method, path, body] of actingRoutes(alice.id)) {
    expectError(await api(method, path, bob.token, body), 403, "forbidden");
  }
  assert.deepEqual(await keysOf(LMS, home(alice)), [
    `${home(alice)}a.json`,
    `${home(alice)}c/b.json`,
  ]);
  // Naming oneself is fine.
  const own = await api("GET", `/objects?bucket=${LMS}&userId=${alice.id}`, alice.token);
  assert.equal(own.status, 200, JSON.stringify(own.body));
});

Deno.test("an anon or publishable key naming a userId is refused on every route (401)", async () => {
  const alice = await createUser();
  const { publishableKey } = await stack();
  for (const key of [publishableKey, "sb_publishable_0123456789abcdef"]) {
    for (const [method, path, body] of actingRoutes(alice.id)) {
      expectError(await api(method, path, key, body), 401, "unauthorized");
    }
  }
});

Deno.test("a backend must name an existing user, and cannot leave that user's home", async () => {
  const alice = await createUser();
  const key = await service();
  const withoutUser = actingRoutes();
  const ghost = actingRoutes(crypto.randomUUID());
  for (const [index, [method, path, body]] of withoutUser.entries()) {
    if (path.startsWith("/events")) continue; // for a backend, userId only filters events
    expectError(await api(method, path, key, body), 400, "invalid_request");
    const [gm, gp, gb] = ghost[index];
    expectError(await api(gm, gp, key, gb), 404, "not_found");
  }
  for (
    const body of [
      { bucket: LMS, paths: ["../other/a.json"], userId: alice.id },
      { bucket: LMS, paths: ["a/../../b"], userId: alice.id },
    ]
  ) {
    expectError(await api("DELETE", "/objects", key, body), 400, "invalid_path");
    expectError(await api("POST", "/downloads", key, body), 400, "invalid_path");
  }
  expectError(
    await api("GET", `/objects?bucket=${LMS}&prefix=../&userId=${alice.id}`, key),
    400,
    "invalid_path",
  );
});
