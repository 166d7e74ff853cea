/**
 * @module Integration tests of `PUT/GET/DELETE /assistants/me` over HTTP
 * against the running stack, with real user tokens and the backend's service
 * key acting for a user (the trusted writer of mappings).
 */
import assert from "node:assert/strict";
import {
  adminSql,
  createUser,
  functionUrl,
  stack,
  type TestUser,
  tokenFor,
} from "../support/stack.ts";

async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${await functionUrl("assistants")}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

function newId(): string {
  return `asst_${crypto.randomUUID()}`;
}

async function rowsOf(userId: string): Promise<{ assistant_id: string; course_id: string }[]> {
  const sql = await adminSql();
  try {
    const rows = await sql`select assistant_id, course_id from stowage.assistants
      where user_id = ${userId} order by assistant_id`;
    return rows.map((r) => ({ assistant_id: r.assistant_id, course_id: r.course_id }));
  } finally {
    await sql.end();
  }
}

/**
 * `PUT /me` as the LMS backend sends it: the service key, acting for the user (mappings are
 * recorded by a trusted caller; users may not claim ids unless the project allows it).
 */
async function backendPut(user: TestUser, body: { assistantId: string; courseId: string }) {
  const { serviceRoleKey } = await stack();
  return await call("PUT", "/me", { token: serviceRoleKey, body: { ...body, userId: user.id } });
}

async function serviceLookup(assistantId: string) {
  const { secretKey } = await stack();
  return await call("GET", `/lookup/${encodeURIComponent(assistantId)}`, {
    headers: { apikey: secretKey },
  });
}

Deno.test("PUT /me sets the caller's assistant and GET /me reads it back", async () => {
  const alice = await createUser();
  const id = newId();
  const put = await backendPut(alice, { assistantId: id, courseId: "physics-101" });
  assert.equal(put.status, 200);
  assert.equal(put.body.assistantId, id);
  assert.equal(put.body.userId, alice.id);
  assert.equal(put.body.courseId, "physics-101");
  assert.ok(!Number.isNaN(Date.parse(put.body.createdAt)));
  const get = await call("GET", "/me", { token: alice.token });
  assert.equal(get.status, 200);
  assert.deepEqual(get.body, put.body);
});

Deno.test("GET /me and DELETE /me answer 404 not_found when the caller has no assistant", async () => {
  const user = await createUser();
  for (const method of ["GET", "DELETE"]) {
    const { status, body } = await call(method, "/me", { token: user.token });
    assert.equal(status, 404, method);
    assert.equal(body.error.code, "not_found");
    assert.equal(typeof body.error.message, "string");
    assert.ok("details" in body.error);
  }
});

Deno.test("DELETE /me removes the mapping: GET /me and the lookup answer 404 afterwards", async () => {
  const user = await createUser();
  const id = newId();
  assert.equal(
    (await backendPut(user, { assistantId: id, courseId: "c" }))
      .status,
    200,
  );
  const deleted = await call("DELETE", "/me", { token: user.token });
  assert.equal(deleted.status, 204);
  assert.equal((await call("GET", "/me", { token: user.token })).status, 404);
  assert.equal((await serviceLookup(id)).status, 404);
  assert.deepEqual(await rowsOf(user.id), []);
});

Deno.test("replacing the assistant leaves no stale mapping behind", async () => {
  const user = await createUser();
  const [first, second, third] = [newId(), newId(), newId()];
  for (const [id, course] of [[first, "c1"], [second, "c2"], [third, "c3"]]) {
    const put = await backendPut(user, { assistantId: id, courseId: course });
    assert.equal(put.status, 200);
  }
  assert.deepEqual(await rowsOf(user.id), [{ assistant_id: third, course_id: "c3" }]);
  assert.equal((await serviceLookup(first)).status, 404);
  assert.equal((await serviceLookup(second)).status, 404);
  assert.equal((await serviceLookup(third)).body.courseId, "c3");
});

Deno.test("PUT /me with the same id and another course updates the row in place", async () => {
  const user = await createUser();
  const id = newId();
  const first = await backendPut(user, { assistantId: id, courseId: "c1" });
  const second = await backendPut(user, { assistantId: id, courseId: "c2" });
  assert.equal(second.status, 200);
  assert.equal(second.body.courseId, "c2");
  assert.equal(second.body.createdAt, first.body.createdAt);
  assert.deepEqual(await rowsOf(user.id), [{ assistant_id: id, course_id: "c2" }]);
});

Deno.test("PUT /me answers 409 assistant_taken for another user's id and keeps both mappings", async () => {
  const alice = await createUser();
  const bob = await createUser();
  const [aliceId, bobId] = [newId(), newId()];
  await backendPut(alice, { assistantId: aliceId, courseId: "a" });
  await backendPut(bob, { assistantId: bobId, courseId: "b" });
  const taken = await backendPut(bob, { assistantId: aliceId, courseId: "b2" });
  assert.equal(taken.status, 409);
  assert.equal(taken.body.error.code, "assistant_taken");
  // The refused replacement rolled back: bob keeps his old mapping, alice keeps hers.
  assert.deepEqual(await rowsOf(bob.id), [{ assistant_id: bobId, course_id: "b" }]);
  assert.deepEqual(await rowsOf(alice.id), [{ assistant_id: aliceId, course_id: "a" }]);
});

Deno.test("another user's DELETE /me never removes someone else's mapping", async () => {
  const alice = await createUser();
  const mallory = await createUser();
  const id = newId();
  await backendPut(alice, { assistantId: id, courseId: "c" });
  assert.equal((await call("DELETE", "/me", { token: mallory.token })).status, 404);
  assert.equal((await call("GET", "/me", { token: mallory.token })).status, 404);
  assert.deepEqual(await rowsOf(alice.id), [{ assistant_id: id, course_id: "c" }]);
});

Deno.test("an id freed by its owner can be taken by another user", async () => {
  const alice = await createUser();
  const bob = await createUser();
  const id = newId();
  await backendPut(alice, { assistantId: id, courseId: "a" });
  assert.equal((await call("DELETE", "/me", { token: alice.token })).status, 204);
  const taken = await backendPut(bob, { assistantId: id, courseId: "b" });
  assert.equal(taken.status, 200);
  assert.equal((await serviceLookup(id)).body.userId, bob.id);
});

Deno.test("50 concurrent PUT /me from two users racing for one id end with exactly one owner", async () => {
  const alice = await createUser();
  const bob = await createUser();
  const contested = newId();
  const [alicePrior, bobPrior] = [newId(), newId()];
  await backendPut(alice, { assistantId: alicePrior, courseId: "p" });
  await backendPut(bob, { assistantId: bobPrior, courseId: "p" });

  const requests = Array.from({ length: 50 }, (_, i) => {
    const user = i % 2 === 0 ? alice : bob;
    return backendPut(user, { assistantId: contested, courseId: `course-${i}` })
      .then((result) => ({ user: user.id, ...result }));
  });
  const results = await Promise.all(requests);

  const statuses = new Set(results.map((r) => r.status));
  assert.ok([...statuses].every((s) => s === 200 || s === 409), `statuses ${[...statuses]}`);
  const winners = new Set(results.filter((r) => r.status === 200).map((r) => r.user));
  assert.equal(winners.size, 1, "exactly one user won");
  const winner = [...winners][0];
  const loser = winner === alice.id ? bob.id : alice.id;
  // Every request of the loser was refused; every request of the winner succeeded.
  for (const r of results) {
    assert.equal(r.status, r.user === winner ? 200 : 409);
    if (r.status === 409) assert.equal(r.body.error.code, "assistant_taken");
  }
  const winnerRows = await rowsOf(winner);
  assert.equal(winnerRows.length, 1);
  assert.equal(winnerRows[0].assistant_id, contested);
  // The loser lost nothing: the refused replacements rolled back.
  assert.deepEqual((await rowsOf(loser)).map((r) => r.assistant_id), [
    loser === alice.id ? alicePrior : bobPrior,
  ]);
  assert.equal((await serviceLookup(contested)).body.userId, winner);
  assert.equal((await serviceLookup(winner === alice.id ? alicePrior : bobPrior)).status, 404);
});

Deno.test("concurrent PUT /me of one user with different ids leave exactly one mapping", async () => {
  const user = await createUser();
  const ids = Array.from({ length: 20 }, newId);
  const results = await Promise.all(
    ids.map((assistantId) => backendPut(user, { assistantId, courseId: "c" })),
  );
  assert.ok(results.every((r) => r.status === 200), JSON.stringify(results.map((r) => r.status)));
  const rows = await rowsOf(user.id);
  assert.equal(rows.length, 1);
  assert.ok(ids.includes(rows[0].assistant_id));
});

Deno.test("two users swapping ids at once both get 409 assistant_taken, never a deadlock", async () => {
  // Each round: alice holds x and asks for y while bob holds y and asks for x. Without a
  // common lock order the two transactions wait on each other's deleted row (40P01, 503).
  for (let round = 0; round < 10; round++) {
    const [alice, bob] = await Promise.all([createUser(), createUser()]);
    const [x, y] = [newId(), newId()];
    await backendPut(alice, { assistantId: x, courseId: "c" });
    await backendPut(bob, { assistantId: y, courseId: "c" });
    const [a, b] = await Promise.all([
      backendPut(alice, { assistantId: y, courseId: "c" }),
      backendPut(bob, { assistantId: x, courseId: "c" }),
    ]);
    assert.deepEqual(
      [a.status, a.body.error?.code, b.status, b.body.error?.code],
      [409, "assistant_taken", 409, "assistant_taken"],
    );
    assert.deepEqual((await rowsOf(alice.id)).map((r) => r.assistant_id), [x]);
    assert.deepEqual((await rowsOf(bob.id)).map((r) => r.assistant_id), [y]);
  }
});

Deno.test("/me refuses missing and invalid tokens with 401 unauthorized", async () => {
  const { publishableKey } = await stack();
  const expired = await tokenFor(crypto.randomUUID(), { expiresIn: -60 });
  for (const token of [undefined, publishableKey, expired, "not-a-jwt"]) {
    const { status, body } = await call("GET", "/me", { token });
    assert.equal(status, 401);
    assert.equal(body.error.code, "unauthorized");
  }
});

Deno.test("PUT /me refuses invalid bodies with 400 invalid_request", async () => {
  const user = await createUser();
  for (
    const body of [
      {},
      { assistantId: "a" },
      { assistantId: "", courseId: "c" },
      { assistantId: "a b", courseId: "c" },
      { assistantId: 7, courseId: "c" },
      { assistantId: "a", courseId: "x".repeat(201) },
    ]
  ) {
    const result = await call("PUT", "/me", { token: user.token, body });
    assert.equal(result.status, 400, JSON.stringify(body));
    assert.equal(result.body.error.code, "invalid_request");
  }
  assert.deepEqual(await rowsOf(user.id), []);
});

Deno.test("a valid token for a user missing from auth.users gets a coded 4xx, not a 500", async () => {
  const token = await tokenFor(crypto.randomUUID());
  const { status, body } = await call("PUT", "/me", {
    token,
    body: { assistantId: newId(), courseId: "c" },
  });
  assert.equal(status, 404);
  assert.equal(body.error.code, "not_found");
});

/** Turns `stowage.settings.users_claim_assistants` on for `fn`, and back off after it. */
async function withUsersClaiming<T>(fn: () => Promise<T>): Promise<T> {
  const sql = await adminSql();
  try {
    await sql`update stowage.settings set users_claim_assistants = true`;
    return await fn();
  } finally {
    await sql`update stowage.settings set users_claim_assistants = false`;
    await sql.end();
  }
}

Deno.test("by default a user cannot claim an id: the same 403 whether it is free or taken", async () => {
  const alice = await createUser();
  const mallory = await createUser();
  const taken = newId();
  assert.equal((await backendPut(alice, { assistantId: taken, courseId: "a" })).status, 200);
  const free = newId();
  const onTaken = await call("PUT", "/me", {
    token: mallory.token,
    body: { assistantId: taken, courseId: "m" },
  });
  const onFree = await call("PUT", "/me", {
    token: mallory.token,
    body: { assistantId: free, courseId: "m" },
  });
  assert.equal(onTaken.status, 403, JSON.stringify(onTaken.body));
  assert.equal(onTaken.body.error.code, "forbidden");
  // Nothing tells the two apart: same status, code, details, and message but for the id.
  assert.equal(onFree.status, onTaken.status);
  assert.deepEqual(
    { ...onFree.body.error, message: onFree.body.error.message.replace(free, "ID") },
    { ...onTaken.body.error, message: onTaken.body.error.message.replace(taken, "ID") },
  );
  assert.deepEqual(await rowsOf(mallory.id), []);
  assert.deepEqual(await rowsOf(alice.id), [{ assistant_id: taken, course_id: "a" }]);
  assert.equal((await serviceLookup(free)).status, 404);
});

Deno.test("a user may change the course of the id the backend recorded for them", async () => {
  const user = await createUser();
  const id = newId();
  assert.equal((await backendPut(user, { assistantId: id, courseId: "c1" })).status, 200);
  const put = await call("PUT", "/me", {
    token: user.token,
    body: { assistantId: id, courseId: "c2" },
  });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.deepEqual(await rowsOf(user.id), [{ assistant_id: id, course_id: "c2" }]);
  // ...but not swap it for a free id of their choosing.
  const swap = await call("PUT", "/me", {
    token: user.token,
    body: { assistantId: newId(), courseId: "c2" },
  });
  assert.equal(swap.status, 403);
  assert.deepEqual(await rowsOf(user.id), [{ assistant_id: id, course_id: "c2" }]);
});

Deno.test("the backend names the user in the body or the query; GET and DELETE /me take ?userId too", async () => {
  const user = await createUser();
  const { serviceRoleKey } = await stack();
  const id = newId();
  const viaQuery = await call("PUT", `/me?userId=${user.id}`, {
    token: serviceRoleKey,
    body: { assistantId: id, courseId: "q" },
  });
  assert.equal(viaQuery.status, 200, JSON.stringify(viaQuery.body));
  assert.equal(viaQuery.body.userId, user.id);
  const got = await call("GET", `/me?userId=${user.id}`, { token: serviceRoleKey });
  assert.deepEqual(got.body, viaQuery.body);
  assert.equal(
    (await call("DELETE", `/me?userId=${user.id}`, { token: serviceRoleKey })).status,
    204,
  );
  assert.deepEqual(await rowsOf(user.id), []);
});

Deno.test("PUT /me refuses the backend without a user, an unknown user, and a user naming another", async () => {
  const { serviceRoleKey } = await stack();
  const [alice, bob] = [await createUser(), await createUser()];
  const body = { assistantId: newId(), courseId: "c" };
  const noUser = await call("PUT", "/me", { token: serviceRoleKey, body });
  assert.deepEqual([noUser.status, noUser.body.error.code], [400, "invalid_request"]);
  const differ = await call("PUT", `/me?userId=${bob.id}`, {
    token: serviceRoleKey,
    body: { ...body, userId: alice.id },
  });
  assert.deepEqual([differ.status, differ.body.error.code], [400, "invalid_request"]);
  const unknown = await call("PUT", "/me", {
    token: serviceRoleKey,
    body: { ...body, userId: crypto.randomUUID() },
  });
  assert.deepEqual([unknown.status, unknown.body.error.code], [404, "not_found"]);
  const other = await call("PUT", "/me", { token: alice.token, body: { ...body, userId: bob.id } });
  assert.deepEqual([other.status, other.body.error.code], [403, "forbidden"]);
  for (const method of ["GET", "DELETE"]) {
    const r = await call(method, `/me?userId=${bob.id}`, { token: alice.token });
    assert.deepEqual([r.status, r.body.error.code], [403, "forbidden"], method);
    const s = await call(method, "/me", { token: serviceRoleKey });
    assert.deepEqual([s.status, s.body.error.code], [400, "invalid_request"], method);
  }
  assert.deepEqual([...(await rowsOf(alice.id)), ...(await rowsOf(bob.id))], []);
});

Deno.test("with users_claim_assistants on, a user claims a free id; a taken one is still a 403", async () => {
  const alice = await createUser();
  const bob = await createUser();
  const taken = newId();
  assert.equal((await backendPut(alice, { assistantId: taken, courseId: "a" })).status, 200);
  await withUsersClaiming(async () => {
    const free = newId();
    const claimed = await call("PUT", "/me", {
      token: bob.token,
      body: { assistantId: free, courseId: "b" },
    });
    assert.equal(claimed.status, 200, JSON.stringify(claimed.body));
    assert.equal(claimed.body.userId, bob.id);
    const refused = await call("PUT", "/me", {
      token: bob.token,
      body: { assistantId: taken, courseId: "b" },
    });
    assert.deepEqual([refused.status, refused.body.error.code], [403, "forbidden"]);
    assert.doesNotMatch(refused.body.error.message, /taken|another user|belongs/i);
    assert.deepEqual(await rowsOf(bob.id), [{ assistant_id: free, course_id: "b" }]);
  });
  assert.deepEqual(await rowsOf(alice.id), [{ assistant_id: taken, course_id: "a" }]);
});
