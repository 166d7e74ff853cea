import assert from "node:assert/strict";
import { toAppError } from "../../_shared/errors.ts";
import { createStorageGateway, toPublicUrl } from "./storage-api.ts";

Deno.test("toPublicUrl moves internal URLs onto the public Supabase URL", () => {
  assert.equal(
    toPublicUrl(
      "http://kong:8000/storage/v1/object/sign/b/k?token=t",
      "http://kong:8000",
      "https://p.co",
    ),
    "https://p.co/storage/v1/object/sign/b/k?token=t",
  );
  assert.equal(
    toPublicUrl(
      "http://other:1/storage/v1/object/x?token=t",
      "http://kong:8000",
      "https://p.co",
    ),
    "https://p.co/storage/v1/object/x?token=t",
  );
  assert.equal(
    toPublicUrl("https://cdn.example/x", "http://kong:8000", "https://p.co"),
    "https://cdn.example/x",
  );
});

Deno.test("an unreachable Storage server is 502 storage_unavailable on every call", async () => {
  const gateway = createStorageGateway({
    supabaseUrl: "http://127.0.0.1:9",
    publicSupabaseUrl: "http://127.0.0.1:9",
    apiKey: "anon",
    serviceKey: "service",
  });
  for (
    const call of [
      () => gateway.signUpload("t", "b", "k", false),
      () => gateway.signDownloads("t", "b", ["k"], 60),
      () => gateway.remove("t", "b", ["k"]),
      () => gateway.ping(),
    ]
  ) {
    await assert.rejects(call(), (error: unknown) => {
      const appError = toAppError(error);
      return appError.status === 502 && appError.code === "storage_unavailable";
    });
  }
});

/**
 * A stand-in for the Storage server on a loopback port that answers the first `failures`
 * requests the way v1.70.6 answers a deadlocked statement (HTTP 500, `database error,
 * code: 40P01`), then `ok`. Returns the gateway and how many requests arrived.
 */
function flakyStorage(
  failures: number,
  ok: (path: string) => unknown,
  message?: string,
) {
  let requests = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      requests++;
      if (requests <= failures) {
        return Response.json({
          statusCode: "500",
          code: "DatabaseError",
          error: "DatabaseError",
          message: message ?? "database error, code: 40P01",
        }, { status: 500 });
      }
      return Response.json(ok(new URL(req.url).pathname));
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  const gateway = createStorageGateway({
    supabaseUrl: url,
    publicSupabaseUrl: url,
    apiKey: "anon",
    serviceKey: "service",
  });
  return { gateway, requests: () => requests, close: () => server.shutdown() };
}

Deno.test("a call the Storage server lost to a deadlock (500 40P01) is sent again", async () => {
  const removed = flakyStorage(2, () => [{ name: "k1" }, { name: "k2" }]);
  try {
    assert.deepEqual(await removed.gateway.remove("t", "b", ["k1", "k2"]), [
      "k1",
      "k2",
    ]);
    assert.equal(removed.requests(), 3);
  } finally {
    await removed.close();
  }
  const signed = flakyStorage(
    1,
    () => ({ url: "/object/upload/sign/b/k?token=abc" }),
  );
  try {
    const upload = await signed.gateway.signUpload("t", "b", "k", false);
    assert.equal(upload.token, "abc");
    assert.equal(signed.requests(), 2);
  } finally {
    await signed.close();
  }
  const links = flakyStorage(
    1,
    () => [{ path: "k", signedURL: "/object/sign/b/k?token=x", error: null }],
    "database error, code: 40001",
  );
  try {
    const [link] = await links.gateway.signDownloads("t", "b", ["k"], 60);
    assert.match(link.signedUrl ?? "", /token=x/);
    assert.equal(links.requests(), 2);
  } finally {
    await links.close();
  }
});

Deno.test("a deadlock that persists ends as a generic 502, and other 5xx are not resent here", async () => {
  const stuck = flakyStorage(100, () => []);
  try {
    await assert.rejects(
      stuck.gateway.remove("t", "b", ["k"]),
      (error: unknown) => {
        const appError = toAppError(error);
        assert.equal(appError.code, "storage_unavailable");
        assert.doesNotMatch(appError.message, /40P01|database error/);
        return true;
      },
    );
    assert.equal(stuck.requests(), 5, "the first call and four retries");
  } finally {
    await stuck.close();
  }
  const other = flakyStorage(1, () => [], "database error, code: P0001");
  try {
    await assert.rejects(other.gateway.remove("t", "b", ["k"]));
    assert.equal(
      other.requests(),
      1,
      "a trigger's exception is not a conflict",
    );
  } finally {
    await other.close();
  }
});

Deno.test("service calls send a secret key as apikey only (never Bearer sb_), user calls the JWT", async () => {
  const seen: { apikey: string | null; authorization: string | null }[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      seen.push({
        apikey: req.headers.get("apikey"),
        authorization: req.headers.get("authorization"),
      });
      return Response.json([]);
    },
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}`;
    const gateway = createStorageGateway({
      supabaseUrl: url,
      publicSupabaseUrl: url,
      apiKey: "sb_publishable_x",
      serviceKey: "sb_secret_x",
    });
    await gateway.ping();
    await gateway.remove("user.jwt.token", "b", ["k"]);
    await gateway.remove("eyJlegacy.service.role", "b", ["k"]);
    assert.deepEqual(seen, [
      { apikey: "sb_secret_x", authorization: null },
      { apikey: "sb_publishable_x", authorization: "Bearer user.jwt.token" },
      {
        apikey: "sb_publishable_x",
        authorization: "Bearer eyJlegacy.service.role",
      },
    ]);
  } finally {
    await server.shutdown();
  }
});
