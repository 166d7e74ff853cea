/**
 * @module Proves the client cannot drift from the functions: at compile time,
 * every method's argument and answer types equal the zod schemas the routes
 * validate with; at run time, every request the client sends names a route
 * of the functions' OpenAPI documents.
 */
import assert from "node:assert/strict";
import type { z } from "@hono/zod-openapi";
import type * as Uploads from "../../supabase/functions/storage/routes/uploads.ts";
import type * as Objects from "../../supabase/functions/storage/routes/objects.ts";
import type * as Folders from "../../supabase/functions/storage/routes/folders.ts";
import type * as Downloads from "../../supabase/functions/storage/routes/downloads.ts";
import type { QuotaResponse } from "../../supabase/functions/storage/routes/schemas.ts";
import type { PutMeBody } from "../../supabase/functions/assistants/routes/me.ts";
import type { AssistantResponse } from "../../supabase/functions/assistants/routes/schemas.ts";
import type { LookupResponse } from "../../supabase/functions/assistants/routes/lookup.ts";
import type {
  PositionResponse,
  PutPositionBody,
} from "../../supabase/functions/assistants/routes/positions.ts";
import { createStowage, type Stowage } from "./mod.ts";
import type { DeleteFolderOptions, UploadResult } from "./storage.ts";
import { stack } from "../../tests/support/stack.ts";
import { blob, LMS, session } from "./testing.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
/** Compiles only when `T` is `true`. */
function expectTrue<T extends true>(): T | void {}
type Answer<K extends keyof Stowage> = Stowage[K] extends (...a: never[]) => Promise<infer R> ? R
  : never;
type Assistants = Stowage["assistants"];

Deno.test("types: every answer type is the route's response schema", () => {
  expectTrue<Equal<Answer<"quota">, z.output<typeof QuotaResponse>>>();
  expectTrue<Equal<Answer<"list">, z.output<typeof Objects.ListResponse>>>();
  expectTrue<Equal<Answer<"deleteFiles">, z.output<typeof Objects.DeleteResponse>>>();
  expectTrue<
    Equal<Answer<"downloadUrls">, z.output<typeof Downloads.DownloadResponse>["urls"]>
  >();
  expectTrue<
    Equal<UploadResult, Pick<z.output<typeof Uploads.UploadResponse>, keyof UploadResult>>
  >();
  expectTrue<Equal<Awaited<ReturnType<Assistants["get"]>>, z.output<typeof AssistantResponse>>>();
  expectTrue<Equal<Awaited<ReturnType<Assistants["set"]>>, z.output<typeof AssistantResponse>>>();
  expectTrue<Equal<Awaited<ReturnType<Assistants["lookup"]>>, z.output<typeof LookupResponse>>>();
  expectTrue<
    Equal<Awaited<ReturnType<Assistants["getPosition"]>>, z.output<typeof PositionResponse>>
  >();
});

Deno.test("types: every request type is the route's body or query schema", () => {
  expectTrue<Equal<Parameters<Stowage["deleteFiles"]>[0], z.input<typeof Objects.DeleteBody>>>();
  expectTrue<
    Equal<Parameters<Stowage["downloadUrls"]>[0], z.input<typeof Downloads.DownloadBody>>
  >();
  expectTrue<
    Equal<
      Omit<DeleteFolderOptions, "onProgress" | "signal" | "maxStalls">,
      z.input<typeof Folders.FolderDeleteBody>
    >
  >();
  // The list query has exactly the schema's fields (recursive/limit typed, not strings).
  expectTrue<
    Equal<keyof Parameters<Stowage["list"]>[0], keyof z.input<typeof Objects.ListQuery>>
  >();
  expectTrue<Equal<Parameters<Assistants["set"]>[0], z.input<typeof PutMeBody>>>();
  expectTrue<
    Equal<Parameters<Assistants["setPosition"]>[1], z.input<typeof PutPositionBody>["lastPosition"]>
  >();
  // What upload() sends is a subset of the schema's fields.
  type Sent = "bucket" | "path" | "size" | "contentType" | "upsert";
  expectTrue<Sent extends keyof z.input<typeof Uploads.UploadBody> ? true : false>();
  // @ts-expect-error a field the schema does not know is a compile error
  const _wrong: Parameters<Stowage["list"]>[0] = { bucket: LMS, folder: "a/" };
});

/** The OpenAPI paths of a function as [method, regex] pairs. */
async function routes(fn: string): Promise<[string, RegExp][]> {
  const res = await fetch(`${(await stack()).url}/functions/v1/${fn}/openapi.json`);
  assert.equal(res.status, 200);
  const doc = await res.json() as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method): [string, RegExp] => [
      method.toUpperCase(),
      new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+")}$`),
    ])
  );
}

Deno.test("every request the client sends is a route of the functions' OpenAPI documents", async () => {
  const known = [...await routes("storage"), ...await routes("assistants")];
  const { user } = await session();
  const sent: string[] = [];
  const recording: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname.startsWith("/functions/v1/")) {
      sent.push(`${init?.method ?? "GET"} ${url.pathname.slice("/functions/v1".length)}`);
    }
    return fetch(input, init);
  };
  const s = createStowage({
    url: (await stack()).url,
    getToken: () => user.token,
    fetch: recording,
  });
  await s.upload(blob(5), { bucket: LMS, path: "t/a.bin" });
  await s.uploadMany([{ file: blob(5), path: "t/b.bin" }], { bucket: LMS });
  await s.list({ bucket: LMS, prefix: "t/" });
  for await (const _ of s.listAll({ bucket: LMS, prefix: "t/" })) { /* pages */ }
  await s.downloadUrls({ bucket: LMS, paths: ["t/a.bin"] });
  await s.deleteFiles({ bucket: LMS, paths: ["t/a.bin"] });
  await s.deleteFolder({ bucket: LMS, prefix: "t/" });
  await s.quota();
  const id = `asst_${crypto.randomUUID().slice(0, 8)}`;
  // Mappings are recorded by the backend (the service key, naming the user).
  const backend = createStowage({
    url: (await stack()).url,
    getToken: async () => (await stack()).serviceRoleKey,
    fetch: recording,
  });
  await backend.assistants.set({ assistantId: id, courseId: "c", userId: user.id });
  await backend.assistants.get({ userId: user.id });
  await s.assistants.get();
  await s.assistants.lookup(id);
  await s.assistants.setPosition("c", 1);
  await s.assistants.getPosition("c");
  await s.assistants.remove();
  const unknown = [...new Set(sent)].filter((line) => {
    const [method, path] = line.split(" ");
    return !known.some(([m, re]) => m === method && re.test(path));
  });
  assert.deepEqual(unknown, []);
  assert.ok(sent.length >= 14, `recorded ${sent.length} requests`);
});
