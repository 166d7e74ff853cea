/**
 * @module `deno task token` prints a verifiable user token, expired on request.
 */
import assert from "node:assert/strict";
import { createLocalJWKSet, jwtVerify } from "jose";
import { stack } from "../tests/support/stack.ts";
import { loadKeys } from "./keys.ts";

async function token(...args: string[]): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", new URL("./token.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, out: new TextDecoder().decode(out.stdout).trim() };
}

Deno.test("deno task token prints a token for a dev user that verifies against the JWKS", async () => {
  const s = await stack();
  const alice = s.users.find((u) => u.email === "alice@example.com");
  assert.ok(alice, "alice is a dev user");
  const { code, out } = await token("alice@example.com");
  assert.equal(code, 0);
  const keys = await loadKeys(s.keysFile);
  const { payload, protectedHeader } = await jwtVerify(out, createLocalJWKSet(keys.jwks as never));
  assert.equal(payload.sub, alice.id);
  assert.equal(payload.role, "authenticated");
  assert.equal(protectedHeader.kid, keys.signingKey.kid);
});

Deno.test("deno task token --expires-in -60 gives an expired token; an unknown email fails", async () => {
  const { code, out } = await token("bob@example.com", "--expires-in", "-60");
  assert.equal(code, 0);
  const payload = JSON.parse(atob(out.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  assert.ok(payload.exp < Date.now() / 1000);
  assert.notEqual((await token("nobody@example.com")).code, 0);
});
