/**
 * @module Test support for the Storage-API double: an in-process server on a free port
 * against the running stack's database, with its own temporary data directory.
 */
import { createStorageApi } from "./mod.ts";
import { stack } from "../../tests/support/stack.ts";
import { loadKeys } from "../keys.ts";

/** A server started for one test file. */
export interface TestServer {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no `/storage/v1`). */
  url: string;
  dataDir: string;
  serviceKey: string;
  anonKey: string;
  legacyJwtSecret: string;
  close(): Promise<void>;
}

/** Starts a server; stop it with `close()` (removes its data directory too). */
export async function startServer(
  options: { uploadSignedUrlExpirationSeconds?: number; fileSizeLimit?: number } = {},
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
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, api.handler);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    dataDir,
    serviceKey: s.serviceRoleKey,
    anonKey: s.anonKey,
    legacyJwtSecret: keys.legacyJwtSecret,
    async close() {
      await server.shutdown();
      await api.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}
