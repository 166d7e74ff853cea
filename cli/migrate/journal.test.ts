import assert from "node:assert/strict";
import { Journal, readJournal } from "./journal.ts";

const at = "2026-01-01T00:00:00.000Z";

Deno.test("Journal appends lines that a later run reads back as a checksum cache", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/plan.json.journal`;
  const j = await Journal.open(path);
  await Promise.all(
    Array.from(
      { length: 50 },
      (_, i) =>
        j.append({
          op: "copied",
          source: `f${i}`,
          stamp: "m1",
          size: i,
          target: `t/f${i}`,
          md5: `md5-${i}`,
          verify: "etag",
          at,
        }),
    ),
  );
  await j.close();
  const again = await Journal.open(path);
  assert.equal(again.entries.length, 50);
  assert.equal(again.checksum("f7", "m1", 7), "md5-7");
  assert.equal(again.checksum("f7", "m2", 7), undefined, "another version of the source");
  assert.equal(again.checksum("f7", "m1", 8), undefined);
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readJournal ignores a torn last line but refuses damage in the middle", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/j`;
  const good = JSON.stringify({ op: "deleted", source: "a", at });
  await Deno.writeTextFile(path, `${good}\n{"op":"cop`);
  assert.equal((await readJournal(path)).length, 1);
  await Deno.writeTextFile(path, `{"op":"cop\n${good}\n`);
  await assert.rejects(readJournal(path), /line 1 is not JSON/);
  assert.deepEqual(await readJournal(`${dir}/missing`), []);
  await Deno.remove(dir, { recursive: true });
});
