/**
 * @module The Storage-API double of a project whose legacy keys are disabled
 * (`STOWAGE_LEGACY_KEYS=off`): request tokens signed with the legacy HS256
 * secret (the anon and service_role keys) are refused; the role tokens the
 * gateway mints for `sb_` keys (ES256) and users' tokens still pass.
 */
import assert from "node:assert/strict";
import { loadKeys, signRoleToken, signUserToken } from "../keys.ts";
import { createUser, stack } from "../../tests/support/stack.ts";
import { startServer } from "./testing.ts";

async function listBuckets(url: string, token: string): Promise<[number, string]> {
  const res = await fetch(`${url}/bucket`, { headers: { authorization: `Bearer ${token}` } });
  return [res.status, await res.text()];
}

Deno.test("legacy keys disabled: HS256 keys are refused, minted ES256 role tokens pass", async () => {
  const s = await stack();
  const keys = await loadKeys(s.keysFile);
  const off = await startServer({ legacyKeys: false });
  const on = await startServer();
  try {
    const [legacyStatus, legacyBody] = await listBuckets(off.url, s.serviceRoleKey);
    assert.equal(legacyStatus, 400, legacyBody); // the real server's 403 travels in a 400 body
    assert.match(legacyBody, /Legacy API keys are disabled/);
    assert.equal((await listBuckets(on.url, s.serviceRoleKey))[0], 200, "enabled: accepted");
    const minted = await signRoleToken(keys, "service_role", s.url);
    assert.equal((await listBuckets(off.url, minted))[0], 200);
    const user = await createUser();
    const token = await signUserToken(keys, { sub: user.id, issuerUrl: s.url });
    const [userStatus] = await listBuckets(off.url, token);
    assert.equal(userStatus, 200);
  } finally {
    await off.close();
    await on.close();
  }
});
