import assert from "node:assert/strict";
import { AppError } from "../../_shared/app-error.ts";
import { decodeCursor, encodeCursor } from "./listing.ts";

Deno.test("cursors round-trip opaque, URL-safe and bound to their prefix", () => {
  for (const entry of ["a/b.txt", "a/sub/", "a/x y (1)+&=.json", "a/" + "z".repeat(500)]) {
    const cursor = encodeCursor(entry);
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.equal(decodeCursor(cursor, "a/"), entry);
  }
});

Deno.test("cursors from another prefix, garbage or non-UTF-8 are 400 invalid_request", () => {
  const invalid = (e: unknown) => e instanceof AppError && e.code === "invalid_request";
  assert.throws(() => decodeCursor(encodeCursor("b/x"), "a/"), invalid);
  assert.throws(() => decodeCursor(encodeCursor("a/"), "a/"), invalid);
  assert.throws(() => decodeCursor("!!", ""), invalid);
  assert.throws(() => decodeCursor("", ""), invalid);
  assert.throws(() => decodeCursor("_w", ""), invalid); // 0xFF: not UTF-8
  assert.throws(() => decodeCursor(encodeCursor("a\u0000"), ""), invalid);
});
