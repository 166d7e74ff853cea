/**
 * GET /objects keyset listing over real HTTP: byte order of files and folders
 * whose names sort around "/" (skip-scan), and a cursor that stays correct
 * while objects are added and removed between pages.
 */
import assert from "node:assert/strict";
import { createUser, stack, type TestUser } from "../support/stack.ts";
import { api, LMS, removeKeys, seedLms } from "../support/storage.ts";

/** One page as a flat list of entries, folders spelled with their trailing "/". */
async function page(user: TestUser, query: string) {
  const answer = await api("GET", `/objects?bucket=${LMS}&${query}`, user.token);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const entries = [
    ...answer.body.items.map((i: { path: string }) => i.path),
    ...answer.body.folders.map((f: { path: string }) => f.path),
  ].sort(byteOrder);
  return { entries, nextCursor: answer.body.nextCursor as string | null };
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function listAll(user: TestUser, query: string, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const next = await page(user, `${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
    pages.push(next.entries);
    cursor = next.nextCursor;
  } while (cursor && pages.length < 100);
  return pages;
}

Deno.test("one level lists files and folders whose names sort around '/' in byte order, at every page size", async () => {
  const user = await createUser();
  await seedLms(user, [
    "t/a",
    "t/a b/x",
    "t/a-b/x",
    "t/a-b/y/z",
    "t/a.b/x",
    "t/a.txt",
    "t/a/x",
    "t/a/y/z",
    "t/a0",
    "t/b",
    "t/z/1",
    "t/z/2",
  ]);
  const expected = [
    "t/a",
    "t/a b/",
    "t/a-b/",
    "t/a.b/",
    "t/a.txt",
    "t/a/",
    "t/a0",
    "t/b",
    "t/z/",
  ];
  for (const limit of [1, 2, 3, 100]) {
    const pages = await listAll(user, "prefix=t/", limit);
    assert.deepEqual(pages.flat(), expected, `limit ${limit}`);
    assert.ok(pages.every((p) => p.length <= limit));
  }
});

Deno.test("a recursive cursor stays exact while objects are added and removed between pages", async () => {
  const user = await createUser();
  const names = Array.from({ length: 100 }, (_, i) => `f/${String(i).padStart(3, "0")}`);
  await seedLms(user, names);
  const first = await page(user, "prefix=f/&recursive=true&limit=10");
  assert.deepEqual(first.entries, names.slice(0, 10));

  const home = `user_data/${user.id}/`;
  // Before the cursor (already seen or sorting before it): never shown later.
  await seedLms(user, ["f/0005", "f/000a"]);
  await removeKeys(LMS, [`${home}f/005`]);
  // After the cursor: removals vanish, additions appear, in order.
  await removeKeys(LMS, [`${home}f/010`, `${home}f/050`]);
  await seedLms(user, ["f/0105", "f/150"]);

  const rest: string[] = [];
  let cursor = first.nextCursor;
  while (cursor) {
    const next = await page(user, `prefix=f/&recursive=true&limit=10&cursor=${cursor}`);
    rest.push(...next.entries);
    cursor = next.nextCursor;
  }
  const expected = [...names.slice(11), "f/0105", "f/150"]
    .filter((n) => n !== "f/050")
    .sort(byteOrder);
  assert.deepEqual(rest, expected);
});

Deno.test("a one-level cursor on a folder survives that folder's removal and new folders before it", async () => {
  const user = await createUser();
  const folders = Array.from({ length: 12 }, (_, i) => `g/${String(i).padStart(2, "0")}/`);
  await seedLms(user, folders.flatMap((f) => [`${f}1.txt`, `${f}deep/2.txt`]));
  const first = await page(user, "prefix=g/&limit=4");
  assert.deepEqual(first.entries, folders.slice(0, 4));

  const home = `user_data/${user.id}/`;
  // The folder the cursor names is emptied, a folder sorting before it appears.
  await removeKeys(LMS, [`${home}g/03/1.txt`, `${home}g/03/deep/2.txt`]);
  await seedLms(user, ["g/02a/new.txt", "g/07b/new.txt"]);

  const rest: string[] = [];
  let cursor = first.nextCursor;
  while (cursor) {
    const next = await page(user, `prefix=g/&limit=4&cursor=${cursor}`);
    rest.push(...next.entries);
    cursor = next.nextCursor;
  }
  assert.deepEqual(rest, [...folders.slice(4, 8), "g/07b/", ...folders.slice(8)]);
});

Deno.test("pages are exact for keys only the service role can make (`d/`, `a//b`, the folder itself), at every page size", async () => {
  const user = await createUser();
  const home = `user_data/${user.id}/`;
  const { url, secretKey } = await stack();
  // Made with the service key through the Storage API (raw: storage-js would fold `//` and a
  // trailing `/`): keys our path rules refuse from users.
  const odd = ["x/", "x/a//b", "x/d/", "x/d/e", "x/d//f", "x/d0"];
  for (const path of odd) {
    const res = await fetch(`${url}/storage/v1/object/${LMS}/${home}${path}`, {
      method: "POST",
      headers: {
        apikey: secretKey,
        "content-type": "text/plain",
      },
      body: "1",
    });
    const text = await res.text();
    assert.equal(res.status, 200, `${path}: ${text}`);
  }
  await seedLms(user, ["x/a", "x/c/1", "x/d/g", "x/e"]);
  const all = [...odd, "x/a", "x/c/1", "x/d/g", "x/e"].sort(byteOrder);
  const oneLevel = ["x/", "x/a", "x/a/", "x/c/", "x/d/", "x/d0", "x/e"];
  for (const limit of [1, 2, 3, 100]) {
    const recursive = await listAll(user, "prefix=x/&recursive=true", limit);
    assert.deepEqual(recursive.flat(), all, `recursive, limit ${limit}`);
    assert.ok(recursive.every((p) => p.length <= limit));
    const level = await listAll(user, "prefix=x/", limit);
    assert.deepEqual(level.flat(), oneLevel, `one level, limit ${limit}`);
  }
  // Inside a folder whose own key exists (`x/d/` is a file there, listed first).
  for (const limit of [1, 2]) {
    assert.deepEqual(
      (await listAll(user, "prefix=x/d/&recursive=true", limit)).flat(),
      ["x/d/", "x/d//f", "x/d/e", "x/d/g"],
      `inside x/d/, limit ${limit}`,
    );
  }
});
