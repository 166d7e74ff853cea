/**
 * Needs a running stack's database (STOWAGE_CREDENTIALS, else .stack/credentials.json);
 * skipped when there is none.
 */
import assert from "node:assert/strict";
import { createDb } from "./db.ts";
import type { UserClaims } from "./auth.ts";

const credentialsPath = Deno.env.get("STOWAGE_CREDENTIALS") ??
  new URL("../../../.stack/credentials.json", import.meta.url).pathname;
let dbUrl: string | null = null;
try {
  dbUrl = JSON.parse(await Deno.readTextFile(credentialsPath)).dbUrl;
} catch {
  dbUrl = null;
}
const claims: UserClaims = {
  sub: "a11ce000-0000-4000-8000-000000000001",
  role: "authenticated",
  exp: 9999999999,
  email: "alice@example.com",
};

Deno.test({
  name: "withUser runs as authenticated with the caller's claims, only inside the transaction",
  ignore: dbUrl === null,
  async fn() {
    const db = createDb({ url: dbUrl!, max: 1 });
    try {
      const [row] = await db.withUser(claims, (tx) =>
        tx`select current_user as role,
          current_setting('request.jwt.claim.sub', true) as sub,
          current_setting('request.jwt.claim.role', true) as claim_role,
          current_setting('request.jwt.claims', true)::jsonb as claims`);
      assert.equal(row.role, "authenticated");
      assert.equal(row.sub, claims.sub);
      assert.equal(row.claim_role, "authenticated");
      assert.equal(row.claims.email, "alice@example.com");
      // Same single connection afterwards: nothing leaked.
      const [after] = await db.withService((tx) =>
        tx`select current_user as role, current_setting('request.jwt.claim.sub', true) as sub,
          current_setting('request.jwt.claims', true)::jsonb as claims`
      );
      assert.equal(after.role, "service_role");
      assert.equal(after.sub, "");
      assert.deepEqual(after.claims, { role: "service_role" });
    } finally {
      await db.end();
    }
  },
});

Deno.test({
  name: "withUser clamps the role to authenticated whatever the claims say",
  ignore: dbUrl === null,
  async fn() {
    const db = createDb({ url: dbUrl!, max: 1 });
    try {
      const forged = { ...claims, role: "service_role" } as unknown as UserClaims;
      const [row] = await db.withUser(
        forged,
        (tx) =>
          tx`select current_user as role, current_setting('request.jwt.claims', true)::jsonb as c`,
      );
      assert.equal(row.role, "authenticated");
      assert.equal(row.c.role, "authenticated");
    } finally {
      await db.end();
    }
  },
});

Deno.test({
  name: "an unreachable database fails with a driver error code (mapped to 503)",
  ignore: dbUrl === null,
  async fn() {
    const db = createDb({ url: "postgresql://postgres:postgres@127.0.0.1:9/postgres", max: 1 });
    try {
      await assert.rejects(
        db.ping(),
        (e: unknown) => typeof (e as { code?: string }).code === "string",
      );
    } finally {
      await db.end();
    }
  },
});

Deno.test("a database that stays down fails every request fast: reconnect backoff stays short", async () => {
  // postgres.js backs off 3^n / 100 s (up to 20 s) between failed connects by default: after a
  // short outage every request would wait seconds before its 503, and keep waiting after the
  // database is back. Ours is capped at one second.
  const db = createDb({ url: "postgresql://postgres:postgres@127.0.0.1:9/postgres", max: 1 });
  try {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const started = Date.now();
      await assert.rejects(db.ping());
      const took = Date.now() - started;
      assert.ok(took < 2000, `attempt ${attempt} took ${took} ms`);
    }
  } finally {
    await db.end();
  }
});
