import assert from "node:assert/strict";
import { inShard, parseShard } from "./shard.ts";

Deno.test("parseShard reads 1-based i/n and refuses nonsense", () => {
  assert.deepEqual(parseShard("2/4"), { index: 1, count: 4 });
  for (const bad of ["0/4", "5/4", "1/0", "a/b", "1"]) {
    assert.throws(() => parseShard(bad), /--shard/);
  }
});

Deno.test("shards split keys into disjoint sets that cover everything, evenly", () => {
  const keys = Array.from({ length: 3000 }, (_, i) => `u${i % 7}/p${i}/f${i}.mp3`);
  const shards = [1, 2, 3].map((i) => parseShard(`${i}/3`));
  const counts = shards.map((s) => keys.filter((k) => inShard(k, s)).length);
  assert.equal(counts.reduce((a, b) => a + b), 3000);
  for (const k of keys) assert.equal(shards.filter((s) => inShard(k, s)).length, 1);
  for (const c of counts) assert.ok(c > 850 && c < 1150, `uneven shard ${c}`);
  assert.equal(inShard("x", null), true);
});

Deno.test("shard membership is stable across calls", () => {
  const s = parseShard("2/5");
  assert.equal(inShard("user_data/a@b.c/x.json", s), inShard("user_data/a@b.c/x.json", s));
});
