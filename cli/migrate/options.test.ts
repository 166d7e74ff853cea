import assert from "node:assert/strict";
import { parseMigrateArgs } from "./options.ts";

Deno.test("parseMigrateArgs reads an S3 source, target prefix and defaults", () => {
  const o = parseMigrateArgs([
    "s3://lms/user_data",
    "--to",
    "anantra-lms-store",
    "--map-users",
    "--s3-path-style",
  ]);
  assert.ok(o !== "help");
  assert.deepEqual(o.source, { kind: "s3", location: { bucket: "lms", prefix: "user_data/" } });
  assert.equal(o.bucket, "anantra-lms-store");
  assert.equal(o.targetPrefix, "");
  assert.deepEqual([o.execute, o.concurrency, o.retries, o.verify, o.mapUsers, o.s3.pathStyle], [
    false,
    8,
    4,
    "etag",
    true,
    true,
  ]);
});

Deno.test("parseMigrateArgs checks combinations and values", () => {
  assert.throws(() => parseMigrateArgs(["dir", "--to", "b", "--delete-after"]), /needs --execute/);
  assert.throws(
    () => parseMigrateArgs(["s3://b", "--to", "b", "--execute", "--delete-after"]),
    /local sources only/,
  );
  assert.throws(
    () => parseMigrateArgs(["dir", "--to", "b", "--concurrency", "0"]),
    /--concurrency/,
  );
  assert.throws(() => parseMigrateArgs(["dir", "--to", "b", "--verify", "md5"]), /--verify/);
  assert.throws(() => parseMigrateArgs(["dir"]), /--to/);
  assert.throws(() => parseMigrateArgs(["dir", "--to", "b", "--bogus"]), { exitCode: 2 });
  assert.equal(parseMigrateArgs(["--help"]), "help");
  const o = parseMigrateArgs([
    "./uploads",
    "--to",
    "audiofiles/imported",
    "--execute",
    "--shard",
    "2/3",
    "--verify",
    "full",
  ]);
  assert.ok(o !== "help");
  assert.deepEqual([o.source.kind, o.targetPrefix, o.shard, o.verify], ["local", "imported/", {
    index: 1,
    count: 3,
  }, "full"]);
});
