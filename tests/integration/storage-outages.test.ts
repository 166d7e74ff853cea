/**
 * Outages: a storage function instance, in this process, wired to the stack
 * but with its Storage server or its database unreachable (or answering
 * errors). Every route answers a coded 502 storage_unavailable or 503
 * database_unavailable, never an empty result, and nothing is left half done
 * (a reservation whose signing failed is cancelled, a folder whose objects
 * could not be removed still holds them).
 */
import assert from "node:assert/strict";
import { createUser, stack } from "../support/stack.ts";
import { api, expectError, inProcessFunction, LMS, seedLms } from "../support/storage.ts";

const DEAD_URL = "http://127.0.0.1:9";

Deno.test("Storage unreachable: uploads, downloads and deletes are 502, reservations cancelled", async () => {
  const user = await createUser();
  await seedLms(user, ["c/1.txt", "c/2.txt"]);
  const fn = await inProcessFunction({ SUPABASE_URL: DEAD_URL, PUBLIC_SUPABASE_URL: DEAD_URL });
  try {
    const call = (method: string, path: string, body?: unknown) =>
      api(method, path, user.token, body, fn.fetch);
    expectError(
      await call("POST", "/uploads", {
        bucket: LMS,
        path: "c/new.txt",
        size: 100,
        contentType: "text/plain",
      }),
      502,
      "storage_unavailable",
    );
    expectError(
      await call("POST", "/uploads/batch", {
        bucket: LMS,
        files: [{ path: "c/a.txt", size: 5, contentType: "text/plain" }],
      }),
      502,
      "storage_unavailable",
    );
    expectError(
      await call("POST", "/downloads", { bucket: LMS, paths: ["c/1.txt"] }),
      502,
      "storage_unavailable",
    );
    expectError(
      await call("DELETE", "/objects", { bucket: LMS, paths: ["c/1.txt"] }),
      502,
      "storage_unavailable",
    );
    const folder = await call("DELETE", "/folders", { bucket: LMS, prefix: "c/" });
    expectError(folder, 502, "storage_unavailable");
    assert.equal(folder.body.error.details.remaining, 2);

    // Listing and quota need only the database: they still answer.
    const listed = await call("GET", `/objects?bucket=${LMS}&prefix=c/`);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(listed.body.items.map((i: { path: string }) => i.path), [
      "c/1.txt",
      "c/2.txt",
    ]);
    const quota = await call("GET", "/quota");
    assert.equal(quota.status, 200);
    // The failed signings left no reservation behind, and nothing was deleted.
    assert.equal(quota.body.reservedBytes, 0);
    assert.equal(quota.body.objectCount, 2);

    const health = await api("GET", "/health", null, undefined, fn.fetch);
    assert.equal(health.status, 503);
    assert.equal(health.body.database.ok, true);
    assert.deepEqual(health.body.storage, { ok: false, error: "storage_unavailable" });
  } finally {
    await fn.end();
  }
});

Deno.test("Storage answering errors in its 400 envelope is mapped by the body's statusCode", async () => {
  const user = await createUser();
  // A stand-in that answers every call as the Storage server answers a failure:
  // HTTP 400, the real status as a string in the body.
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
    Response.json(
      { statusCode: "503", error: "SlowDown", message: "Please reduce your request rate" },
      { status: 400 },
    ));
  const base = `http://127.0.0.1:${server.addr.port}`;
  const fn = await inProcessFunction({ SUPABASE_URL: base, PUBLIC_SUPABASE_URL: base });
  try {
    const reserved = await api("POST", "/uploads", user.token, {
      bucket: LMS,
      path: "x.txt",
      size: 10,
      contentType: "text/plain",
    }, fn.fetch);
    expectError(reserved, 502, "storage_unavailable");
    assert.equal(reserved.body.error.details.storageStatus, "503");
    assert.equal(
      (await api("GET", "/quota", user.token, undefined, fn.fetch)).body.reservedBytes,
      0,
    );
  } finally {
    await fn.end();
    await server.shutdown();
  }
});

Deno.test("database unreachable: every user and admin route is 503 database_unavailable", async () => {
  const user = await createUser();
  const fn = await inProcessFunction({
    SUPABASE_DB_URL: "postgresql://postgres:postgres@127.0.0.1:9/postgres",
  });
  try {
    const cases: [string, string, unknown?][] = [
      ["POST", "/uploads", { bucket: LMS, path: "a.txt", size: 1, contentType: "text/plain" }],
      ["POST", "/uploads/batch", {
        bucket: LMS,
        files: [{ path: "a.txt", size: 1, contentType: "text/plain" }],
      }],
      ["DELETE", "/uploads", { bucket: LMS, path: "a.txt" }],
      ["GET", `/objects?bucket=${LMS}`],
      ["DELETE", "/objects", { bucket: LMS, paths: ["a.txt"] }],
      ["DELETE", "/folders", { bucket: LMS, prefix: "a/" }],
      ["POST", "/downloads", { bucket: LMS, paths: ["a.txt"] }],
      ["GET", "/quota"],
    ];
    for (const [method, path, body] of cases) {
      expectError(
        await api(method, path, user.token, body, fn.fetch),
        503,
        "database_unavailable",
      );
    }
    const service = (await stack()).secretKey;
    for (
      const [method, path, body] of [
        ["GET", `/admin/users/${user.id}/usage`],
        ["PUT", `/admin/users/${user.id}/plan`, { plan: "paid" }],
        ["POST", "/admin/reconcile", { userId: user.id }],
      ] as [string, string, unknown?][]
    ) {
      expectError(await api(method, path, service, body, fn.fetch), 503, "database_unavailable");
    }
    const health = await api("GET", "/health", null, undefined, fn.fetch);
    assert.equal(health.status, 503);
    assert.deepEqual(health.body.database, { ok: false, error: "database_unavailable" });
    assert.equal(health.body.storage.ok, true);
  } finally {
    await fn.end();
  }
});

/**
 * A proxy to the stack's gateway that answers the first `failures` remove calls itself
 * (HTTP 400, the given statusCode in the body, as the Storage server does) and counts them.
 */
async function flakyStorage(failures: number, statusCode: string) {
  const target = (await stack()).url;
  let removes = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const isRemove = req.method === "DELETE" && url.pathname.startsWith("/storage/v1/object/");
    if (isRemove && ++removes <= failures) {
      await req.body?.cancel();
      return Response.json({ statusCode, error: "Refused", message: `refused ${removes}` }, {
        status: 400,
      });
    }
    const headers = new Headers(req.headers);
    headers.delete("host");
    const body = req.body ? await req.arrayBuffer() : undefined;
    return await fetch(`${target}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      body,
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    removes: () => removes,
    close: () => server.shutdown(),
  };
}

Deno.test("DELETE /folders retries transient Storage failures with backoff and then deletes", async () => {
  const user = await createUser();
  await seedLms(user, ["r/1.txt", "r/2.txt", "r/deep/3.txt"]);
  const proxy = await flakyStorage(2, "503");
  const fn = await inProcessFunction({ SUPABASE_URL: proxy.url });
  try {
    const result = await api(
      "DELETE",
      "/folders",
      user.token,
      { bucket: LMS, prefix: "r/" },
      fn.fetch,
    );
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.deepEqual(result.body, { deleted: 3, failed: [], remaining: 0, done: true });
    assert.equal(proxy.removes(), 3);
  } finally {
    await fn.end();
    await proxy.close();
  }
});

Deno.test("DELETE /folders does not retry a refusal; the folder keeps its objects", async () => {
  const user = await createUser();
  await seedLms(user, ["s/1.txt", "s/2.txt"]);
  const proxy = await flakyStorage(100, "403");
  const fn = await inProcessFunction({ SUPABASE_URL: proxy.url });
  try {
    const result = await api(
      "DELETE",
      "/folders",
      user.token,
      { bucket: LMS, prefix: "s/" },
      fn.fetch,
    );
    expectError(result, 403, "forbidden");
    assert.equal(result.body.error.details.remaining, 2);
    assert.equal(proxy.removes(), 1);
    const objects = await api("DELETE", "/objects", user.token, {
      bucket: LMS,
      paths: ["s/1.txt"],
    }, fn.fetch);
    expectError(objects, 403, "forbidden");
    assert.equal(proxy.removes(), 2);
  } finally {
    await fn.end();
    await proxy.close();
  }
  assert.equal((await api("GET", "/quota", user.token)).body.objectCount, 2);
});
