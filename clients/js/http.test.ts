import assert from "node:assert/strict";
import { call, type Transport } from "./http.ts";

/** The headers of one call made with `token` (and `apiKey`), seen by a stand-in fetch. */
async function headersOf(token: string | undefined, apiKey?: string): Promise<Headers> {
  let seen: Headers | null = null;
  const transport: Transport = {
    functionsUrl: "http://127.0.0.1:1/functions/v1",
    getToken: () => token,
    apiKey,
    fetch: (_input, init) => {
      seen = new Headers(init?.headers);
      return Promise.resolve(Response.json({ ok: true }));
    },
  };
  await call(transport, "storage", { method: "GET", path: "/quota" });
  assert.ok(seen);
  return seen;
}

Deno.test("a user's JWT goes as Bearer, beside the publishable key as apikey", async () => {
  const h = await headersOf("eyJ.user.jwt", "sb_publishable_x");
  assert.equal(h.get("authorization"), "Bearer eyJ.user.jwt");
  assert.equal(h.get("apikey"), "sb_publishable_x");
});

Deno.test("a secret key from getToken goes as apikey only, never as Bearer", async () => {
  const h = await headersOf("sb_secret_x", "sb_publishable_x");
  assert.equal(h.get("authorization"), null);
  assert.equal(h.get("apikey"), "sb_secret_x");
});

Deno.test("a legacy service_role JWT from getToken still goes as Bearer", async () => {
  const h = await headersOf("eyJ.legacy.service");
  assert.equal(h.get("authorization"), "Bearer eyJ.legacy.service");
  assert.equal(h.get("apikey"), null);
});
