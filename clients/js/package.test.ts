/**
 * @module The client as the npm package a user installs: `build.ts --pack`
 * makes the tarball, a new Node project installs it from the tarball with
 * npm, type-checks an app with `tsc --strict` (nodenext and bundler
 * resolution, no skipLibCheck), runs it under Node against the local stack,
 * and every request and answer type of the package is compared with the
 * functions' OpenAPI documents.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import ts from "typescript";
import { packPackage } from "./build.ts";
import { createUser, stack } from "../../tests/support/stack.ts";
import { LMS } from "./testing.ts";

const TYPESCRIPT = "typescript@5.9.3";
const SUPABASE_JS = "@supabase/supabase-js@2.119.0";

async function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: { npm_config_update_notifier: "false", npm_config_fund: "false", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { ok: out.success, text, stdout: new TextDecoder().decode(out.stdout) };
}

const APP_TS = `
import {
  createStowage, StowageError,
  type ListPage, type StowageErrorCode, type Upload, type UploadRequest,
} from "@stowage/client";

const stowage = createStowage({ url: "http://127.0.0.1:54321", getToken: async () => "token" });
// @ts-expect-error a token source is required
export const neither = createStowage({ url: "http://x" });

export async function run(file: Blob): Promise<number> {
  const up = await stowage.upload(file, {
    bucket: "b", path: "a/b.txt", onProgress: (p) => console.log(p.fraction),
  });
  const page: ListPage = await stowage.list({ bucket: "b", prefix: "a/", recursive: true, limit: 10 });
  for await (const p of stowage.listAll({ bucket: "b" })) {
    console.log(p.items.length, p.folders.map((f) => f.name));
  }
  const links = await stowage.downloadUrls({ bucket: "b", paths: [up.path] });
  for (const link of links) {
    if ("signedUrl" in link) console.log(link.signedUrl.length);
    else console.log(link.error.code);
  }
  const many = await stowage.uploadMany([{ file, path: "x" }], { bucket: "b", concurrency: 2 });
  console.log(many.failed.map((f) => f.error.code));
  const quota = await stowage.quota();
  const me = await stowage.assistants.get();
  return quota.availableBytes + (page.items[0]?.size ?? 0) + me.assistantId.length;
}

export function codeOf(e: unknown): StowageErrorCode | null {
  return e instanceof StowageError ? e.code : null;
}

export const request: UploadRequest = { bucket: "b", path: "p", size: 1, contentType: "text/plain" };
// @ts-expect-error the schema has no field "folder"
export const wrongField: UploadRequest = { bucket: "b", path: "p", size: 1, contentType: "t", folder: "x" };
// @ts-expect-error the codes are a closed union
export const wrongCode: StowageErrorCode = "no_such_code";
// @ts-expect-error size is a number
export const wrongType: Upload["size"] = "1";
`;

/**
 * An app that takes the token from supabase-js (typed with a database or not). supabase-js's
 * own declarations need Node's types, so this one is checked as Vite's template does, with
 * skipLibCheck; app.ts, without supabase-js, is checked with library checks on.
 */
const SUPABASE_APP_TS = `
import { createClient } from "@supabase/supabase-js";
import { createStowage } from "@stowage/client";

const supabase = createClient("http://127.0.0.1:54321", "anon-key");
export const stowage = createStowage({ url: "http://127.0.0.1:54321", supabase });
interface Database {
  public: {
    Tables: {
      notes: { Row: { id: number }; Insert: { id?: number }; Update: { id?: number }; Relationships: [] };
    };
    Views: {}; Functions: {}; Enums: {}; CompositeTypes: {};
  };
}
export const typed = createStowage({ url: "http://x", supabase: createClient<Database>("http://x", "k") });
// @ts-expect-error one source of the token, not two
export const both = createStowage({ url: "http://x", supabase, getToken: () => "t" });
// @ts-expect-error not a supabase-js client
export const wrong = createStowage({ url: "http://x", supabase: { auth: {} } });
`;

const RUN_MJS = `
import { createStowage, StowageError } from "@stowage/client";
const { STOWAGE_URL: url, STOWAGE_TOKEN: token, STOWAGE_BUCKET: bucket } = process.env;
const stowage = createStowage({ url, getToken: async () => token });
const file = new Blob(["hello from node"], { type: "text/plain" });
const progress = [];
const up = await stowage.upload(file, { bucket, path: "pkg/hello.txt", onProgress: (p) => progress.push(p.fraction) });
const page = await stowage.list({ bucket, prefix: "pkg/" });
const [link] = await stowage.downloadUrls({ bucket, paths: ["pkg/hello.txt"] });
const text = await (await fetch(link.signedUrl)).text();
let code = null;
try {
  await stowage.upload(file, { bucket, path: "pkg/hello.txt" });
} catch (e) {
  code = e instanceof StowageError ? e.code : String(e);
}
console.log(JSON.stringify({ path: up.path, progress, names: page.items.map((i) => i.name), text, code }));
`;

function tsconfig(module: string, moduleResolution: string, file = "app.ts"): string {
  return JSON.stringify({
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: "es2022",
      module,
      moduleResolution,
      lib: ["es2022", "dom", "dom.iterable"],
      types: [],
      skipLibCheck: file !== "app.ts",
    },
    files: [file],
  });
}

// --- The OpenAPI comparison: both sides reduced to one canonical shape string.

type Schema = Record<string, unknown>;

function shapeOfSchema(doc: Schema, schema: Schema | undefined): string {
  if (!schema) return "unknown";
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.replace("#/components/schemas/", "");
    return shapeOfSchema(
      doc,
      (doc.components as { schemas: Record<string, Schema> }).schemas[name],
    );
  }
  if (schema.nullable === true) {
    // OpenAPI 3.0's spelling, which the generator still writes for some fields
    return joinUnion([shapeOfSchema(doc, { ...schema, nullable: false }), "null"]);
  }
  const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (union) return joinUnion(union.map((s) => shapeOfSchema(doc, s)));
  if (Array.isArray(schema.enum)) {
    return joinUnion(schema.enum.map((v) => JSON.stringify(v)));
  }
  if (Array.isArray(schema.type)) {
    return joinUnion(schema.type.map((type) => shapeOfSchema(doc, { ...schema, type })));
  }
  switch (schema.type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array": {
      const inner = shapeOfSchema(doc, schema.items as Schema);
      return `${inner.includes("|") ? `(${inner})` : inner}[]`;
    }
    case "object": {
      const required = new Set((schema.required ?? []) as string[]);
      const props = Object.entries((schema.properties ?? {}) as Record<string, Schema>)
        .map(([k, v]) => `${k}${required.has(k) ? "" : "?"}:${shapeOfSchema(doc, v)}`);
      const extra = schema.additionalProperties;
      if (extra && typeof extra === "object") {
        props.push(`[key]:${shapeOfSchema(doc, extra as Schema)}`);
      }
      return `{${props.sort().join(",")}}`;
    }
  }
  return "unknown";
}

function joinUnion(parts: string[]): string {
  const flat = new Set(parts.flatMap((p) => splitTopUnion(p)));
  return [...flat].sort().join("|");
}

function splitTopUnion(shape: string): string[] {
  const parts: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < shape.length; i++) {
    const ch = shape[i];
    if (ch === "{" || ch === "(") depth++;
    else if (ch === "}" || ch === ")") depth--;
    else if (ch === "|" && depth === 0) {
      parts.push(shape.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(shape.slice(start));
  return parts;
}

/** The top-level `name:shape` fields of an object shape. */
function splitFields(shape: string): string[] {
  const fields: string[] = [];
  let depth = 0, start = 1;
  for (let i = 1; i < shape.length - 1; i++) {
    const ch = shape[i];
    if (ch === "{" || ch === "(") depth++;
    else if (ch === "}" || ch === ")") depth--;
    else if (ch === "," && depth === 0) {
      fields.push(shape.slice(start, i));
      start = i + 1;
    }
  }
  fields.push(shape.slice(start, shape.length - 1));
  return fields;
}

function shapeOfType(c: ts.TypeChecker, type: ts.Type, depth = 0): string {
  assert.ok(depth < 30, "type too deep");
  const f = type.flags;
  if (f & ts.TypeFlags.Any) return "any";
  if (f & ts.TypeFlags.Unknown) return "unknown";
  if (f & ts.TypeFlags.String) return "string";
  if (f & ts.TypeFlags.Number) return "number";
  if (f & ts.TypeFlags.Boolean) return "boolean";
  if (f & ts.TypeFlags.BooleanLiteral) return c.typeToString(type); // `true` (a z.literal(true))
  if (f & ts.TypeFlags.Null) return "null";
  if (f & ts.TypeFlags.StringLiteral) return JSON.stringify((type as ts.StringLiteralType).value);
  if (f & ts.TypeFlags.NumberLiteral) return String((type as ts.NumberLiteralType).value);
  if (type.isUnion()) {
    const parts = type.types.filter((t) => !(t.flags & ts.TypeFlags.Undefined))
      .map((t) => shapeOfType(c, t, depth + 1));
    // `boolean` is the union `false | true` to the checker
    const bool = parts.includes("true") && parts.includes("false");
    return joinUnion(
      bool ? [...parts.filter((p) => p !== "true" && p !== "false"), "boolean"] : parts,
    );
  }
  if (c.isArrayType(type)) {
    const [element] = c.getTypeArguments(type as ts.TypeReference);
    const inner = shapeOfType(c, element, depth + 1);
    return `${inner.includes("|") ? `(${inner})` : inner}[]`;
  }
  const props = c.getPropertiesOfType(type).map((p) => {
    const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
    return `${p.name}${optional ? "?" : ""}:${shapeOfType(c, c.getTypeOfSymbol(p), depth + 1)}`;
  });
  for (const info of c.getIndexInfosOfType(type)) {
    props.push(`[key]:${shapeOfType(c, info.type, depth + 1)}`);
  }
  return `{${props.sort().join(",")}}`;
}

/** Where each exported type of the package is described in the OpenAPI documents. */
const AGREEMENT: [
  type: string,
  fn: "storage" | "assistants",
  method: string,
  path: string,
  part: string,
][] = [
  ["UploadRequest", "storage", "post", "/uploads", "body"],
  ["Upload", "storage", "post", "/uploads", "201"],
  ["BatchUploadRequest", "storage", "post", "/uploads/batch", "body"],
  ["BatchUploadResponse", "storage", "post", "/uploads/batch", "201"],
  ["CancelUploadRequest", "storage", "delete", "/uploads", "body"],
  ["ListPage", "storage", "get", "/objects", "200"],
  ["DeleteObjectsRequest", "storage", "delete", "/objects", "body"],
  ["DeleteObjectsResponse", "storage", "delete", "/objects", "200"],
  ["DeleteFolderRequest", "storage", "delete", "/folders", "body"],
  ["DeleteFolderResponse", "storage", "delete", "/folders", "200"],
  ["DownloadsRequest", "storage", "post", "/downloads", "body"],
  ["DownloadsResponse", "storage", "post", "/downloads", "200"],
  ["Quota", "storage", "get", "/quota", "200"],
  ["SetAssistantRequest", "assistants", "put", "/me", "body"],
  ["Assistant", "assistants", "put", "/me", "200"],
  ["AssistantLookup", "assistants", "get", "/lookup/{assistantId}", "200"],
  ["Position", "assistants", "get", "/positions/{courseId}", "200"],
];

function schemaAt(doc: Schema, fn: string, method: string, path: string, part: string): Schema {
  const paths = doc.paths as Record<string, Record<string, Schema>>;
  const op = paths[`/${fn}${path}`]?.[method];
  assert.ok(op, `the ${fn} OpenAPI document has no ${method.toUpperCase()} ${path}`);
  const holder = part === "body"
    ? op.requestBody as Schema
    : (op.responses as Record<string, Schema>)[part];
  assert.ok(holder, `${method.toUpperCase()} ${path} has no ${part} in the OpenAPI document`);
  return (holder.content as Record<string, Schema>)["application/json"].schema as Schema;
}

/** The query parameters of `GET /objects` as an object schema. */
function listQuerySchema(doc: Schema): Schema {
  const op = (doc.paths as Record<string, Record<string, Schema>>)["/storage/objects"].get;
  const params = op.parameters as { name: string; required: boolean; schema: Schema }[];
  return {
    type: "object",
    properties: Object.fromEntries(params.map((p) => [p.name, p.schema])),
    required: params.filter((p) => p.required).map((p) => p.name),
  };
}

Deno.test("the npm package: packed, installed in a new Node project, type-checked, run, and its types agree with the OpenAPI documents", async (t) => {
  const work = await Deno.makeTempDir({ prefix: "stowage-npm-" });
  try {
    const tarball = await packPackage(join(work, "pack"));
    const app = join(work, "app");

    await t.step(
      "the tarball holds the built modules, their types, package.json and README",
      async () => {
        const { text, ok } = await sh("tar", ["-tzf", tarball], work);
        assert.ok(ok, text);
        const files = text.trim().split("\n").sort();
        assert.ok(files.includes("package/dist/mod.js") && files.includes("package/dist/mod.d.ts"));
        assert.deepEqual(
          files.filter((f) =>
            !/^package\/(dist\/[a-z-]+\.(js|d\.ts)|package\.json|README\.md)$/.test(f)
          ),
          [],
        );
        assert.ok(!files.some((f) => f.includes(".test.") || f.includes("testing.")), files.join());
      },
    );

    await Deno.mkdir(app);
    await Deno.writeTextFile(
      join(app, "package.json"),
      JSON.stringify({ name: "fresh-app", private: true, type: "module" }),
    );
    const install = await sh(
      "npm",
      ["install", "--no-audit", "--no-fund", "--loglevel=error", tarball, TYPESCRIPT, SUPABASE_JS],
      app,
    );
    assert.ok(install.ok, `npm install failed:\n${install.text}`);
    const dist = join(app, "node_modules/@stowage/client/dist");

    await t.step("the installed types import nothing outside the package", async () => {
      for await (const entry of Deno.readDir(dist)) {
        // The JavaScript may import the package's one runtime dependency; the types import none.
        const external = entry.name.endsWith(".d.ts") ? [] : ["tus-js-client"];
        const text = (await Deno.readTextFile(join(dist, entry.name)))
          .replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
        const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)]
          .map((m) => m[1]);
        assert.deepEqual(
          specifiers.filter((s) => !/^\.\/[a-z-]+\.js$/.test(s) && !external.includes(s)),
          [],
          entry.name,
        );
        assert.doesNotMatch(text, /supabase\/functions|\bzod\b|\bDeno\./, entry.name);
      }
    });

    await t.step(
      "apps type-check with tsc --strict (nodenext and bundler resolution), with a getToken or a supabase-js client",
      async () => {
        await Deno.writeTextFile(join(app, "app.ts"), APP_TS);
        await Deno.writeTextFile(join(app, "supabase-app.ts"), SUPABASE_APP_TS);
        for (const [module, resolution] of [["nodenext", "nodenext"], ["esnext", "bundler"]]) {
          for (const file of ["app.ts", "supabase-app.ts"]) {
            await Deno.writeTextFile(
              join(app, "tsconfig.json"),
              tsconfig(module, resolution, file),
            );
            const tsc = await sh("node", ["node_modules/typescript/bin/tsc", "-p", "."], app);
            assert.ok(tsc.ok, `tsc (${resolution}, ${file}) failed:\n${tsc.text}`);
          }
        }
      },
    );

    await t.step(
      "Node imports the package and uploads, lists and downloads through it",
      async () => {
        const user = await createUser();
        await Deno.writeTextFile(join(app, "run.mjs"), RUN_MJS);
        const run = await sh("node", ["run.mjs"], app, {
          STOWAGE_URL: (await stack()).url,
          STOWAGE_TOKEN: user.token,
          STOWAGE_BUCKET: LMS,
        });
        assert.ok(run.ok, `node run.mjs failed:\n${run.text}`);
        const result = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
        assert.deepEqual(result, {
          path: "pkg/hello.txt",
          progress: [0, 1],
          names: ["hello.txt"],
          text: "hello from node",
          code: "already_exists",
        });
      },
    );

    await t.step(
      "every request and answer type equals its schema in the OpenAPI documents",
      async () => {
        const docs: Record<string, Schema> = {};
        for (const fn of ["storage", "assistants"]) {
          const res = await fetch(`${(await stack()).url}/functions/v1/${fn}/openapi.json`);
          assert.equal(res.status, 200);
          docs[fn] = await res.json();
        }
        const program = ts.createProgram({
          rootNames: [join(dist, "types.d.ts")],
          options: { strict: true, noEmit: true, types: [], lib: ["lib.es2022.d.ts"] },
        });
        const source = program.getSourceFile(join(dist, "types.d.ts"))!;
        const checker = program.getTypeChecker();
        const exported = new Map(
          checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)
            .map((s) => [s.name, checker.getDeclaredTypeOfSymbol(s)]),
        );
        const disagreements: string[] = [];
        const compare = (name: string, schemaShape: string) => {
          const type = exported.get(name);
          if (!type) return disagreements.push(`${name}: not exported by the package`);
          const typeShape = shapeOfType(checker, type);
          if (typeShape !== schemaShape) {
            disagreements.push(`${name}\n  package: ${typeShape}\n  openapi: ${schemaShape}`);
          }
        };
        for (const [name, fn, method, path, part] of AGREEMENT) {
          const doc = docs[fn];
          compare(name, shapeOfSchema(doc, schemaAt(doc, fn, method, path, part)));
        }
        // The list query: the client takes `recursive` as a boolean and `limit` as a number
        // (the query string's "true"/"false" and digits), so only its fields are compared.
        const fields = (shape: string) => splitFields(shape).map((f) => f.split(":")[0]).sort();
        const listQuery = exported.get("ListQuery");
        assert.ok(listQuery, "ListQuery is exported");
        assert.deepEqual(
          fields(shapeOfType(checker, listQuery)),
          fields(shapeOfSchema(docs.storage, listQuerySchema(docs.storage))),
        );
        assert.deepEqual(disagreements, []);
      },
    );
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
