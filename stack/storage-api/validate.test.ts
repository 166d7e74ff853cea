/** @module Key, bucket-name and MIME rules of the double (FACTS §3, §1.10). */
import assert from "node:assert/strict";
import { check, isValidKey, mustBeAllowedMime, mustBeValidBucketName } from "./validate.ts";
import { StorageError } from "./errors.ts";

Deno.test("object keys: the storage character set, ASCII only", () => {
  for (
    const ok of ["a/b.txt", "with space & (parens).txt", "it's:ok=1;x,y+z@w$v!*.txt", "a//b", "f/"]
  ) {
    assert.ok(isValidKey(ok), ok);
  }
  for (const bad of ["", "café.txt", "100%.txt", "a#b", "a[b]", "back\\slash", "a~b", "a\u0001"]) {
    assert.ok(!isValidKey(bad), bad);
  }
});

Deno.test("bucket names: no slash, 1 to 100 characters", () => {
  mustBeValidBucketName("Bad Name!");
  for (const bad of ["", "a/b", "x".repeat(101), "é"]) {
    assert.throws(() => mustBeValidBucketName(bad), StorageError);
  }
});

Deno.test("MIME match is literal: charset parameters and case do not match", () => {
  mustBeAllowedMime("text/plain", ["audio/mpeg", "text/plain"]);
  mustBeAllowedMime("image/png", ["image/*"]);
  mustBeAllowedMime("anything/else", null);
  for (const bad of ["text/plain;charset=UTF-8", "Text/Plain", "text/plain; charset=utf-8"]) {
    assert.throws(
      () => mustBeAllowedMime(bad, ["text/plain"]),
      (e: StorageError) =>
        e.message === `mime type ${bad} is not supported` && e.statusCode === 415,
    );
  }
});

Deno.test("schema checks word errors as Ajv and coerce as Fastify", () => {
  assert.deepEqual(
    check({ expiresIn: "60" }, { props: { expiresIn: { type: "integer" } } }, "body"),
    {
      expiresIn: 60,
    },
  );
  assert.throws(
    () => check({}, { props: {}, required: ["prefix"] }, "body"),
    (e: Error) => e.message === "body must have required property 'prefix'",
  );
  assert.throws(
    () => check({ paths: [] }, { props: { paths: { type: "array", minItems: 1 } } }, "body"),
    (e: Error) => e.message === "body/paths must NOT have fewer than 1 items",
  );
  assert.throws(
    () => check({ expiresIn: 1.5 }, { props: { expiresIn: { type: "integer" } } }, "body"),
    (e: Error) => e.message === "body/expiresIn must be integer",
  );
});

Deno.test("coerceTypes 'array': one scalar becomes a one-item array and back", () => {
  const shape = {
    props: {
      paths: { type: "array" as const, items: { type: "string" as const } },
      prefix: { type: "string" as const },
      expiresIn: { type: "integer" as const },
    },
  };
  assert.deepEqual(check({ paths: "a.txt", prefix: ["docs"], expiresIn: ["60"] }, shape, "body"), {
    paths: ["a.txt"],
    prefix: "docs",
    expiresIn: 60,
  });
  assert.throws(
    () => check({ prefix: ["a", "b"] }, shape, "body"),
    (e: Error) => e.message === "body/prefix must be string",
  );
  assert.throws(
    () => check({ paths: { a: 1 } }, shape, "body"),
    (e: Error) => e.message === "body/paths must be array",
  );
});
