import assert from "node:assert/strict";
import {
  type BucketLimits,
  emailSegment,
  type MapContext,
  mapTargets,
  type SourceObject,
} from "./planner.ts";
import { decide, type DecideContext, journalKey, needsChecksum } from "./decide.ts";
import { parseShard } from "./shard.ts";

const U1 = "a11ce000-0000-4000-8000-000000000001";
const U2 = "b0b00000-0000-4000-8000-000000000002";
const lms: BucketLimits = { id: "anantra-lms-store", fileSizeLimit: null, allowedMimeTypes: null };
const audio: BucketLimits = {
  id: "audiofiles",
  fileSizeLimit: 50_000_000,
  allowedMimeTypes: ["audio/mpeg", "audio/x-wav"],
};

function obj(key: string, size = 10, extra: Partial<SourceObject> = {}): SourceObject {
  return { key, size, stamp: "s", ...extra };
}

function ctx(over: Partial<MapContext> = {}): MapContext {
  return {
    bucket: lms,
    targetPrefix: "",
    homeTemplate: "user_data/{uid}/",
    mapUsers: false,
    emails: new Map(),
    ...over,
  };
}

function dctx(over: Partial<DecideContext> = {}): DecideContext {
  return {
    existing: new Map(),
    checksums: new Map(),
    owners: new Map(),
    quotas: new Map(),
    overwrite: false,
    ignoreQuota: false,
    shard: null,
    ...over,
  };
}

Deno.test("emailSegment reads the home segment of the template", () => {
  assert.equal(emailSegment("user_data/Ann@X.com/c1/a.json", "user_data/{uid}/"), "ann@x.com");
  assert.equal(emailSegment(`user_data/${U1}/a.json`, "user_data/{uid}/"), null);
  assert.equal(emailSegment("ann@x.com/p/a.mp3", "{uid}/"), "ann@x.com");
});

Deno.test("mapTargets maps email folders to ids and refuses unknown emails", async () => {
  const items = await mapTargets(
    [
      obj("user_data/ann@x.com/c1/notes.json"),
      obj("user_data/nobody@x.com/c1/a.json"),
      obj(`user_data/${U2}/b.txt`),
    ],
    ctx({ mapUsers: true, emails: new Map([["ann@x.com", U1]]) }),
  );
  assert.deepEqual(items.map((i) => [i.action, i.target, i.reason?.code]), [
    ["copy", `user_data/${U1}/c1/notes.json`, undefined],
    ["copy", `user_data/${U2}/b.txt`, undefined],
    ["refuse", "user_data/nobody@x.com/c1/a.json", "unknown_user"],
  ]);
  assert.equal(items[0].email, "ann@x.com");
});

Deno.test("mapTargets refuses an email that several users share up to case", async () => {
  const [item] = await mapTargets(
    [obj("user_data/Dup@x.com/a.json")],
    ctx({ mapUsers: true, emails: new Map([["dup@x.com", null]]) }),
  );
  assert.deepEqual([item.action, item.target, item.reason?.code], [
    "refuse",
    "user_data/Dup@x.com/a.json",
    "ambiguous_user",
  ]);
});

Deno.test("mapTargets leaves email folders alone without --map-users", async () => {
  const [item] = await mapTargets([obj("user_data/ann@x.com/a.json")], ctx());
  assert.equal(item.target, "user_data/ann@x.com/a.json");
  assert.equal(item.action, "copy");
});

Deno.test("mapTargets renames refused keys, adds the target prefix and skips folder markers", async () => {
  const items = await mapTargets(
    [obj("a/Résumé.txt"), obj("a/", 0), obj("a/ok.txt")],
    ctx({ targetPrefix: "imports/" }),
  );
  const byKey = new Map(items.map((i) => [i.source, i]));
  assert.equal(byKey.get("a/")?.action, "skip");
  assert.equal(byKey.get("a/")?.reason?.code, "folder_marker");
  assert.equal(byKey.get("a/ok.txt")?.target, "imports/a/ok.txt");
  const renamed = byKey.get("a/Résumé.txt")!;
  assert.equal(renamed.action, "rename");
  assert.match(renamed.target, /^imports\/a\/Resume-[0-9a-f]{8}\.txt$/);
});

Deno.test("mapTargets refuses by bucket size and MIME limits and picks allowed aliases", async () => {
  const items = await mapTargets(
    [
      obj(`${U1}/p/c/s/a.mp3`, 60_000_000),
      obj(`${U1}/p/c/s/b.wav`),
      obj(`${U1}/p/c/s/notes.txt`),
      obj(`${U1}/p/c/s/c.mp3`),
    ],
    ctx({ bucket: audio, homeTemplate: "{uid}/" }),
  );
  assert.deepEqual(
    items.map((i) => [i.source.split("/").pop(), i.action, i.reason?.code ?? i.contentType]),
    [
      ["a.mp3", "refuse", "file_too_large"],
      ["b.wav", "copy", "audio/x-wav"],
      ["c.mp3", "copy", "audio/mpeg"],
      ["notes.txt", "refuse", "unsupported_media_type"],
    ],
  );
});

Deno.test("mapTargets refuses a second source landing on the same key", async () => {
  const items = await mapTargets(
    [obj("user_data/Ann@x.com/a.json"), obj("user_data/ann@x.com/a.json")],
    ctx({ mapUsers: true, emails: new Map([["ann@x.com", U1]]) }),
  );
  assert.deepEqual(items.map((i) => i.action), ["copy", "refuse"]);
  assert.equal(items[1].reason?.code, "target_collision");
});

Deno.test("decide skips identical objects, refuses different ones, overwrites with --overwrite", async () => {
  const mapped = await mapTargets([
    obj("a.txt", 5),
    obj("b.txt", 5),
    obj("c.txt", 5),
    obj("d.txt", 5),
  ], ctx());
  const existing = new Map([
    ["a.txt", { size: 5, md5: "aa" }],
    ["b.txt", { size: 5, md5: "bb" }],
    ["c.txt", { size: 6, md5: "cc" }],
  ]);
  assert.deepEqual(needsChecksum(mapped, existing, null).map((i) => i.source), ["a.txt", "b.txt"]);
  const checksums = new Map([["a.txt", "aa"], ["b.txt", "xx"]]);
  const plain = decide(mapped, dctx({ existing, checksums }));
  assert.deepEqual(plain.items.map((i) => [i.action, i.reason?.code]), [
    ["skip", "already_present"],
    ["refuse", "already_exists"],
    ["refuse", "already_exists"],
    ["copy", undefined],
  ]);
  const over = decide(mapped, dctx({ existing, checksums, overwrite: true }));
  assert.deepEqual(over.items.map((i) => [i.action, i.overwrite ?? false]), [
    ["skip", false],
    ["copy", true],
    ["copy", true],
    ["copy", false],
  ]);
});

Deno.test("decide refuses every copy of a user over quota and reports the table", async () => {
  const mapped = await mapTargets(
    [
      obj(`user_data/${U1}/a`, 60),
      obj(`user_data/${U1}/b`, 50),
      obj(`user_data/${U2}/c`, 10),
      obj("shared/x", 10),
    ],
    ctx(),
  );
  const owners = new Map<string, string | null>([
    [`user_data/${U1}/a`, U1],
    [`user_data/${U1}/b`, U1],
    [`user_data/${U2}/c`, U2],
    ["shared/x", null],
  ]);
  const quotas = new Map([
    [U1, { plan: "free", quotaBytes: 100, usedBytes: 0, reservedBytes: 0 }],
    [U2, { plan: "free", quotaBytes: 100, usedBytes: 85, reservedBytes: 0 }],
  ]);
  const d = decide(mapped, dctx({ owners, quotas }));
  assert.deepEqual(d.items.map((i) => [i.source.split("/").pop(), i.action, i.reason?.code]), [
    ["x", "copy", undefined],
    ["a", "refuse", "quota_exceeded"],
    ["b", "refuse", "quota_exceeded"],
    ["c", "copy", undefined],
  ]);
  assert.deepEqual(d.users.map((u) => [u.userId, u.incomingBytes, u.afterBytes, u.over]), [[
    U1,
    110,
    110,
    true,
  ], [U2, 10, 95, false]]);
  const ignored = decide(mapped, dctx({ owners, quotas, ignoreQuota: true }));
  assert.equal(ignored.items.filter((i) => i.action === "refuse").length, 0);
});

Deno.test("decide keeps only this shard's items but counts quota over all shards", async () => {
  const keys = Array.from({ length: 40 }, (_, i) => `user_data/${U1}/f${i}`);
  const mapped = await mapTargets(keys.map((k) => obj(k, 10)), ctx());
  const owners = new Map<string, string | null>(keys.map((k) => [k, U1]));
  const quotas = new Map([[U1, {
    plan: "free",
    quotaBytes: 1000,
    usedBytes: 0,
    reservedBytes: 0,
  }]]);
  const parts = [1, 2].map((i) =>
    decide(mapped, dctx({ owners, quotas, shard: parseShard(`${i}/2`) }))
  );
  assert.equal(parts[0].items.length + parts[1].items.length, 40);
  assert.equal(parts[0].users[0].incomingBytes, 400);
  assert.equal(parts[1].users[0].incomingBytes, 400);
});

Deno.test("decide refuses copies into the home of a user id that does not exist", async () => {
  const ghost = "9e000000-0000-4000-8000-000000000009";
  const mapped = await mapTargets(
    [obj(`user_data/${ghost}/a.json`), obj(`user_data/${U1}/b.json`)],
    ctx(),
  );
  const owners = new Map<string, string | null>([[`user_data/${ghost}/a.json`, ghost], [
    `user_data/${U1}/b.json`,
    U1,
  ]]);
  const quotas = new Map([[U1, { plan: "free", quotaBytes: 100, usedBytes: 0, reservedBytes: 0 }]]);
  const d = decide(mapped, dctx({ owners, quotas }));
  assert.deepEqual(d.items.map((i) => [i.action, i.reason?.code]), [["refuse", "unknown_user"], [
    "copy",
    undefined,
  ]]);
});

Deno.test("decide skips a copy an earlier run journaled as verified when the eTag is no MD5", async () => {
  const mapped = await mapTargets([obj("a.bin", 5), obj("b.bin", 5), obj("c.bin", 5)], ctx());
  const existing = new Map([
    ["a.bin", { size: 5, md5: null }],
    ["b.bin", { size: 5, md5: null }],
    ["c.bin", { size: 5, md5: null }],
  ]);
  const verified = new Set([
    journalKey({ source: "a.bin", stamp: "s", size: 5, target: "a.bin" }),
    journalKey({ source: "b.bin", stamp: "older", size: 5, target: "b.bin" }),
  ]);
  const d = decide(mapped, dctx({ existing, verified }));
  assert.deepEqual(d.items.map((i) => [i.source, i.action, i.reason?.code]), [
    ["a.bin", "skip", "already_present"],
    ["b.bin", "refuse", "already_exists"],
    ["c.bin", "refuse", "already_exists"],
  ]);
});

Deno.test("objects the source refuses (symlinks, unsafe S3 keys) are refused with their own code, never renamed or decided", async () => {
  const items = await mapTargets([
    obj(`user_data/${U1}/link`, 0, {
      refusal: { code: "source_symlink", message: "Symlink" },
    }),
    obj(`user_data/${U1}/../${U2}/secret.json`, 5, {
      refusal: { code: "unsafe_source_key", message: 'has a ".." segment' },
    }),
    obj(`user_data/${U1}/take.mp3 `, 5),
  ], ctx());
  assert.deepEqual(items.map((i) => [i.action, i.reason?.code ?? null]), [
    ["refuse", "unsafe_source_key"],
    ["refuse", "source_symlink"],
    ["rename", null],
  ]);
  assert.match(items[2].target, new RegExp(`^user_data/${U1}/take-[0-9a-f]{8}\\.mp3$`));
  const decided = decide(items, dctx({ owners: new Map([[items[2].target, U1]]) }));
  assert.deepEqual(decided.items.map((i) => i.action), ["refuse", "refuse", "refuse"]);
  assert.deepEqual(decided.items.map((i) => i.reason?.code), [
    "unsafe_source_key",
    "source_symlink",
    "unknown_user",
  ]);
});
