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
    toPublicUrl("http://other:1/storage/v1/object/x?token=t", "http://kong:8000", "https://p.co"),
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

Deno.test("service calls send a secret key as apikey only (never Bearer sb_), user calls the JWT", async () => {
  const seen: { apikey: string | null; authorization: string | null }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    seen.push({
      apikey: req.headers.get("apikey"),
      authorization: req.headers.get("authorization"),
    });
    return Response.json([]);
  });
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
      { apikey: "sb_publishable_x", authorization: "Bearer eyJlegacy.service.role" },
    ]);
  } finally {
    await server.shutdown();
  }
});
