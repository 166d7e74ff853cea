/**
 * @module Test support for the Storage-API double: an in-process server on a free port
 * against the running stack's database, with its own temporary data directory.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { createStorageApi } from "./mod.ts";
import { stack } from "../../tests/support/stack.ts";
import { loadKeys } from "../keys.ts";

/** A server started for one test file. */
export interface TestServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`; `/storage/v1/...` is served too (supabase-js). */
  url: string;
  dataDir: string;
  serviceKey: string;
  anonKey: string;
  legacyJwtSecret: string;
  /** A supabase-js client on this server acting with `token`. */
  client(token: string): SupabaseClient;
  close(): Promise<void>;
}

/** Starts a server; stop it with `close()` (removes its data directory too). */
export async function startServer(
  options: {
    uploadSignedUrlExpirationSeconds?: number;
    fileSizeLimit?: number;
    legacyKeys?: boolean;
  } = {},
): Promise<TestServer> {
  const s = await stack();
  const keys = await loadKeys(s.keysFile);
  const dataDir = await Deno.makeTempDir({ prefix: "storage-api-test-" });
  const api = createStorageApi({
    databaseUrl: s.storageDbUrl,
    dataDir,
    legacyJwtSecret: keys.legacyJwtSecret,
    jwks: keys.jwks as unknown as { keys: JsonWebKey[] },
    ...options,
  });
  // Like Kong: strip `/storage/v1`, so supabase-js can point at this server directly.
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (!url.pathname.startsWith("/storage/v1/")) return api.handler(req);
    url.pathname = url.pathname.slice("/storage/v1".length);
    const init = { method: req.method, headers: req.headers, body: req.body, duplex: "half" };
    return api.handler(new Request(url, init as RequestInit));
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    dataDir,
    serviceKey: s.serviceRoleKey,
    anonKey: s.anonKey,
    legacyJwtSecret: keys.legacyJwtSecret,
    client(token: string) {
      return createClient(`http://127.0.0.1:${server.addr.port}`, s.anonKey, {
        auth: { persistSession: false, autoRefreshToken: false },
        global: { headers: { Authorization: `Bearer ${token}` } },
      });
    },
    async close() {
      await server.shutdown();
      await api.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}
