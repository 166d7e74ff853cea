import assert from "node:assert/strict";
import { isValidKey, sanitizeKey } from "./key-rules.ts";

Deno.test("isValidKey accepts Storage's character set and refuses the rest", () => {
  assert.equal(isValidKey("user_data/a@b.com/course 1/notes (v2).json"), true);
  assert.equal(isValidKey("a/b+c,d;e=f&g$h!i*j'k:l.txt"), true);
  for (
    const bad of [
      "",
      "a//b",
      "/a",
      "a/",
      "a/./b",
      "a/../b",
      "ü.txt",
      "a#b",
      "a%20b",
      "a?b",
      "a~b",
      "a[1]",
      "a.txt ",
    ]
  ) {
    assert.equal(isValidKey(bad), false, bad);
  }
});

Deno.test("sanitizeKey keeps valid keys unchanged", async () => {
  assert.deepEqual(await sanitizeKey("u/p/c/s/take 1.mp3"), {
    key: "u/p/c/s/take 1.mp3",
    renamed: false,
  });
});

Deno.test("sanitizeKey renames refused keys deterministically with a hash before the extension", async () => {
  const a = await sanitizeKey("u/Café #1.mp3");
  assert.equal(a.renamed, true);
  assert.match(a.key, /^u\/Cafe _1-[0-9a-f]{8}\.mp3$/);
  assert.equal(isValidKey(a.key), true);
  assert.deepEqual(await sanitizeKey("u/Café #1.mp3"), a);
  // Two keys that clean up to the same text stay distinct.
  const b = await sanitizeKey("u/Café ~1.mp3");
  assert.notEqual(a.key, b.key);
});

Deno.test("sanitizeKey removes empty segments and replaces dot segments", async () => {
  const r = await sanitizeKey("/a//./../b");
  assert.match(r.key, /^a\/_\/__\/b-[0-9a-f]{8}$/);
  assert.equal(isValidKey(r.key), true);
});

Deno.test("sanitizeKey turns non-Latin names into underscores but keeps them unique", async () => {
  const r = await sanitizeKey("u/日本.txt");
  assert.match(r.key, /^u\/__-[0-9a-f]{8}\.txt$/);
});

Deno.test("sanitizeKey renames a key ending in a space so it no longer does", async () => {
  for (const key of ["u/take.mp3 ", "u/notes  ", "u/   "]) {
    const r = await sanitizeKey(key);
    assert.equal(r.renamed, true);
    assert.equal(isValidKey(r.key), true, r.key);
    assert.ok(!r.key.endsWith(" "), r.key);
  }
  assert.match((await sanitizeKey("u/take.mp3 ")).key, /^u\/take-[0-9a-f]{8}\.mp3$/);
  assert.match((await sanitizeKey("u/notes  ")).key, /^u\/notes-[0-9a-f]{8}$/);
});
