/**
 * GET/DELETE /objects, POST /downloads, GET /quota over real HTTP: keyset
 * listing (one level and recursive, past page sizes), deletion, signed
 * download links, the LMS and CodebeGen flows, and cross-user isolation.
 */
import assert from "node:assert/strict";
import { createUser, type TestUser } from "../support/stack.ts";
import { api, CODE, expectError, LMS, seedKeys as seed, upload } from "../support/storage.ts";

async function listAll(user: TestUser, query: string, limit: number) {
  const items: string[] = [];
  const folders: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const c: string = cursor ? `&cursor=${cursor}` : "";
    const page = await api("GET", `/objects?${query}&limit=${limit}${c}`, user.token);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    items.push(...page.body.items.map((i: { path: string }) => i.path));
    folders.push(...page.body.folders.map((f: { path: string }) => f.path));
    cursor = page.body.nextCursor;
    pages++;
  } while (cursor);
  return { items, folders, pages };
}

Deno.test("LMS: course files listed as folders, one level, recursively, and downloadable", async () => {
  const user = await createUser();
  await upload(user, LMS, "course-a/course.json", '{"title":"A"}', "application/json");
  await upload(user, LMS, "course-a/notes/week 1.txt", "week one", "text/plain");
  await upload(user, LMS, "course-a/index.faiss", "\u0001\u0002binary", "application/octet-stream");
  await upload(user, LMS, "course-b/course.json", '{"title":"B"}', "application/json");
  await upload(user, LMS, "README", "no extension is a file", "text/plain");
  await upload(user, LMS, "v1.2/data.json", "{}", "application/json");

  const root = await api("GET", `/objects?bucket=${LMS}`, user.token);
  assert.equal(root.status, 200);
  assert.deepEqual(root.body.folders.map((f: { name: string }) => f.name), [
    "course-a",
    "course-b",
    "v1.2",
  ]);
  assert.deepEqual(root.body.items.map((i: { path: string }) => i.path), ["README"]);

  const course = await api("GET", `/objects?bucket=${LMS}&prefix=course-a/`, user.token);
  assert.deepEqual(course.body.items.map((i: { name: string }) => i.name), [
    "course.json",
    "index.faiss",
  ]);
  assert.deepEqual(course.body.folders, [{ path: "course-a/notes/", name: "notes" }]);
  assert.equal(course.body.items[0].size, 13);
  assert.equal(course.body.items[0].contentType, "application/json");

  const deep = await api(
    "GET",
    `/objects?bucket=${LMS}&prefix=course-a/&recursive=true`,
    user.token,
  );
  assert.deepEqual(deep.body.items.map((i: { path: string }) => i.path), [
    "course-a/course.json",
    "course-a/index.faiss",
    "course-a/notes/week 1.txt",
  ]);
  assert.deepEqual(deep.body.folders, []);

  const links = await api("POST", "/downloads", user.token, {
    bucket: LMS,
    paths: ["course-a/notes/week 1.txt", "course-a/missing.json"],
  });
  assert.equal(links.status, 200);
  const [found, missing] = links.body.urls;
  assert.equal(await (await fetch(found.signedUrl)).text(), "week one");
  assert.ok(Date.parse(found.expiresAt) > Date.now() + 3500_000);
  assert.equal(missing.error.code, "not_found");
});

Deno.test("listing pages through 2,500 nested objects with a stable keyset cursor", async () => {
  const user = await createUser();
  const keys: string[] = [];
  for (let f = 0; f < 25; f++) {
    for (let i = 0; i < 100; i++) keys.push(`user_data/${user.id}/big/f${f}/sub/${i}.txt`);
  }
  for (let i = 0; i < 150; i++) {
    keys.push(`user_data/${user.id}/big/file-${String(i).padStart(3, "0")}`);
  }
  await seed(LMS, keys);

  const all = await listAll(user, `bucket=${LMS}&prefix=big/&recursive=true`, 1000);
  assert.equal(all.items.length, 2650);
  assert.equal(all.pages, 3);
  const sorted = [...all.items].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.deepEqual(all.items, sorted);

  const level = await listAll(user, `bucket=${LMS}&prefix=big/`, 7);
  assert.equal(level.folders.length, 25);
  assert.equal(level.items.length, 150);
  assert.ok(level.folders.every((f) => /^big\/f\d+\/$/.test(f)));
  expectError(
    await api("GET", `/objects?bucket=${LMS}&cursor=!!`, user.token),
    400,
    "invalid_request",
  );
  expectError(
    await api("GET", `/objects?bucket=${LMS}&prefix=big`, user.token),
    400,
    "invalid_path",
  );
  expectError(
    await api("GET", `/objects?bucket=${LMS}&limit=1001`, user.token),
    400,
    "invalid_request",
  );
  expectError(
    await api("GET", `/objects?bucket=${LMS}&limit=0`, user.token),
    400,
    "invalid_request",
  );
  expectError(await api("GET", `/objects?bucket=nope`, user.token), 404, "not_found");
  expectError(await api("GET", `/objects`, user.token), 400, "invalid_request");
});

Deno.test("CodebeGen: versions listed in byte order, one-hour links work, others' refused", async () => {
  const owner = await createUser();
  const other = await createUser();
  for (const v of ["v1__a1", "v2__b2", "v10__c3"]) {
    await upload(owner, CODE, `proj/generations/${v}.tar.gz`, `tar ${v}`, "application/gzip");
  }
  const listed = await api("GET", `/objects?bucket=${CODE}&prefix=proj/generations/`, owner.token);
  assert.deepEqual(listed.body.items.map((i: { name: string }) => i.name), [
    "v10__c3.tar.gz",
    "v1__a1.tar.gz",
    "v2__b2.tar.gz",
  ]);
  const links = await api("POST", "/downloads", owner.token, {
    bucket: CODE,
    paths: ["proj/generations/v2__b2.tar.gz"],
    expiresIn: 3600,
  });
  const url = links.body.urls[0].signedUrl;
  assert.equal(await (await fetch(url)).text(), "tar v2__b2");
  const tampered = await fetch(url.replace(/token=([^.]+)\.([^.]+)\./, "token=$1.$2x."));
  assert.notEqual(tampered.status, 200);
  await tampered.body?.cancel();

  // The other user's paths are relative to *their* home: nothing of the owner is reachable.
  const theirs = await api("POST", "/downloads", other.token, {
    bucket: CODE,
    paths: ["proj/generations/v2__b2.tar.gz", `../${owner.id}/proj/generations/v2__b2.tar.gz`],
  });
  expectError(theirs, 400, "invalid_path");
  const refused = await api("POST", "/downloads", other.token, {
    bucket: CODE,
    paths: ["proj/generations/v2__b2.tar.gz"],
  });
  assert.equal(refused.body.urls[0].error.code, "not_found");
  const otherList = await api("GET", `/objects?bucket=${CODE}&recursive=true`, other.token);
  assert.deepEqual(otherList.body.items, []);
  const otherDelete = await api("DELETE", "/objects", other.token, {
    bucket: CODE,
    paths: ["proj/generations/v2__b2.tar.gz"],
  });
  assert.deepEqual(otherDelete.body.notFound, ["proj/generations/v2__b2.tar.gz"]);
  const still = await api("GET", `/objects?bucket=${CODE}&prefix=proj/generations/`, owner.token);
  assert.equal(still.body.items.length, 3);
});

Deno.test("DELETE /objects reports deleted and notFound, and frees quota", async () => {
  const user = await createUser();
  await upload(user, LMS, "d/a.txt", "aaaa", "text/plain");
  await upload(user, LMS, "d/b.txt", "bb", "text/plain");
  assert.equal((await api("GET", "/quota", user.token)).body.usedBytes, 6);
  const result = await api("DELETE", "/objects", user.token, {
    bucket: LMS,
    paths: ["d/a.txt", "d/nope.txt"],
  });
  assert.equal(result.status, 200);
  assert.deepEqual(result.body, { deleted: ["d/a.txt"], notFound: ["d/nope.txt"], failed: [] });
  const quota = (await api("GET", "/quota", user.token)).body;
  assert.equal(quota.usedBytes, 2);
  assert.equal(quota.objectCount, 1);
  expectError(
    await api("DELETE", "/objects", user.token, { bucket: LMS, paths: [] }),
    400,
    "invalid_request",
  );
  expectError(
    await api("DELETE", "/objects", user.token, { bucket: LMS, paths: Array(1001).fill("a") }),
    400,
    "invalid_request",
  );
  expectError(
    await api("DELETE", "/objects", user.token, { bucket: LMS, paths: ["a/../b"] }),
    400,
    "invalid_path",
  );
  expectError(
    await api("DELETE", "/objects", null, { bucket: LMS, paths: ["a"] }),
    401,
    "unauthorized",
  );
});

Deno.test("POST /downloads validates its input", async () => {
  const user = await createUser();
  expectError(
    await api("POST", "/downloads", user.token, { bucket: LMS, paths: [] }),
    400,
    "invalid_request",
  );
  expectError(
    await api("POST", "/downloads", user.token, { bucket: LMS, paths: ["a"], expiresIn: 0 }),
    400,
    "invalid_request",
  );
  expectError(
    await api("POST", "/downloads", user.token, { bucket: "zz", paths: ["a"] }),
    404,
    "not_found",
  );
});

Deno.test("GET /quota reports the plan; a paid user has 5 GiB", async () => {
  const free = await createUser();
  const paid = await createUser({ plan: "paid" });
  const a = await api("GET", "/quota", free.token);
  assert.deepEqual(a.body, {
    plan: "free",
    quotaBytes: 524288000,
    usedBytes: 0,
    reservedBytes: 0,
    availableBytes: 524288000,
    objectCount: 0,
  });
  assert.equal((await api("GET", "/quota", paid.token)).body.quotaBytes, 5368709120);
});
