/**
 * @module `stowage migrate --map-users` email lookup against the local stack's auth.users.
 */
import assert from "node:assert/strict";
import { createUser, stack } from "../support/stack.ts";
import { MigrationDb } from "../../cli/migrate/database.ts";

Deno.test("usersByEmail matches emails in any case, and marks an email two users share up to case as ambiguous", async () => {
  const creds = await stack();
  const db = new MigrationDb(creds.dbUrl);
  try {
    const tag = crypto.randomUUID().slice(0, 8);
    const one = await createUser({ email: `One-${tag}@Test.example` });
    const upper = await createUser({ email: `DUP-${tag}@test.example` });
    const lower = await createUser({ email: `dup-${tag}@test.example` });
    assert.notEqual(upper.id, lower.id);
    const found = await db.usersByEmail([
      `one-${tag}@test.example`,
      `dup-${tag}@test.example`,
      `none-${tag}@test.example`,
    ]);
    assert.deepEqual(
      [...found.entries()].sort(),
      [[`dup-${tag}@test.example`, null], [`one-${tag}@test.example`, one.id]],
    );
  } finally {
    await db.close();
  }
});
