/**
 * Fuzz: well over 1,000 malformed requests across every storage route (bad
 * JSON, wrong types, huge numbers, traversal, unicode, missing fields, wrong
 * methods, bad tokens). Each must get a 4xx with a coded error, quickly.
 */
import assert from "node:assert/strict";
import { createUser, functionUrl, stack, tokenFor } from "../support/stack.ts";

interface Case {
  method: string;
  path: string;
  token: string | null;
  body?: string;
  contentType?: string;
}

const LMS = "anantra-lms-store";
const OPTIONAL = new Set(["upsert", "userId", "confirm", "budgetMs", "expiresIn"]);
const FORBIDDEN = [
  "#",
  "%",
  "é",
  "\u0000",
  "\n",
  "\\",
  "~",
  "^",
  "`",
  "|",
  "[",
  "{",
  '"',
  "<",
  "日",
];
const BAD_PATHS = [
  "",
  "/",
  "../x",
  "a/../b",
  "./a",
  "a//b",
  "/a",
  "a/",
  "..",
  "é",
  "a\u0000b",
  "%2e%2e",
];

/** A random string that always holds at least one character Storage refuses. */
function randomBadPath(seed: number): string {
  let x = seed * 9301 + 49297;
  const next = () => (x = (x * 9301 + 49297) % 233280) / 233280;
  const alphabet = "ab/._-() ".split("").concat(FORBIDDEN);
  const length = 1 + Math.floor(next() * 30);
  const chars = Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]);
  chars.splice(Math.floor(next() * chars.length), 0, FORBIDDEN[seed % FORBIDDEN.length]);
  return chars.join("");
}

function wrongTypes(kind: "string" | "number" | "boolean" | "array"): unknown[] {
  const common = [null, { a: 1 }];
  if (kind === "string") return [...common, 123, 1e308, true, [], "x".repeat(5000)];
  if (kind === "number") return [...common, "1", -1, 1.5, 1e308, true, 2 ** 60, -0.0001, []];
  if (kind === "boolean") return [...common, "true", 1, 0, []];
  return [...common, "a", 1, true, [1, 2], Array(1001).fill("a")];
}

function buildCases(user: string, service: string, bad: string[]): Case[] {
  const cases: Case[] = [];
  const json = (method: string, path: string, body: unknown, token: string | null = user) =>
    cases.push({
      method,
      path,
      token,
      body: JSON.stringify(body),
      contentType: "application/json",
    });
  const uploadBase = { bucket: LMS, path: "a.txt", size: 1, contentType: "text/plain" };
  const bodyRoutes: [string, string, Record<string, unknown>, Record<string, string>, string][] = [
    ["POST", "/uploads", uploadBase, {
      bucket: "string",
      path: "string",
      size: "number",
      contentType: "string",
      upsert: "boolean",
      userId: "string",
    }, user],
    ["POST", "/uploads/batch", {
      bucket: LMS,
      files: [{ path: "a", size: 1, contentType: "text/plain" }],
    }, {
      bucket: "string",
      files: "array",
      upsert: "boolean",
    }, user],
    ["DELETE", "/uploads", { bucket: LMS, path: "a" }, { bucket: "string", path: "string" }, user],
    [
      "DELETE",
      "/objects",
      { bucket: LMS, paths: ["a"] },
      { bucket: "string", paths: "array" },
      user,
    ],
    ["DELETE", "/folders", { bucket: LMS, prefix: "a/" }, {
      bucket: "string",
      prefix: "string",
      confirm: "boolean",
      budgetMs: "number",
    }, user],
    ["POST", "/downloads", { bucket: LMS, paths: ["a"] }, {
      bucket: "string",
      paths: "array",
      expiresIn: "number",
    }, user],
    [
      "PUT",
      `/admin/users/${crypto.randomUUID()}/plan`,
      { plan: "paid" },
      { plan: "string" },
      service,
    ],
    ["POST", "/admin/reconcile", {}, { userId: "string" }, service],
  ];
  const generic = ["{", "", "null", "[]", "123", '"x"', '{"a":', "\u0000", "{}}", "[{}]", "true"];
  for (const [method, path, base, fields, token] of bodyRoutes) {
    for (const raw of generic) {
      if (path === "/admin/reconcile" && raw === "") continue; // an empty body is a valid "all users"
      cases.push({ method, path, token, body: raw, contentType: "application/json" });
    }
    cases.push({ method, path, token, body: JSON.stringify(base), contentType: "text/plain" });
    cases.push({
      method,
      path,
      token,
      body: "a=1",
      contentType: "application/x-www-form-urlencoded",
    });
    for (const [field, kind] of Object.entries(fields)) {
      for (const value of wrongTypes(kind as "string")) {
        json(method, path, { ...base, [field]: value }, token);
      }
      if (field in base && !OPTIONAL.has(field) && path !== "/admin/reconcile") {
        const { [field]: _, ...missing } = base;
        json(method, path, missing, token);
      }
    }
    for (const token of bad) json(method, path, base, token);
  }
  for (const path of BAD_PATHS) {
    json("POST", "/uploads", { ...uploadBase, path });
    json("POST", "/downloads", { bucket: LMS, paths: [path] });
    json("DELETE", "/objects", { bucket: LMS, paths: ["ok", path] });
    json("DELETE", "/uploads", { bucket: LMS, path });
    json("DELETE", "/folders", {
      bucket: LMS,
      prefix: path === "" ? "x" : path.endsWith("/") ? `${path}/` : path,
    });
  }
  for (let i = 0; i < 250; i++) {
    json("POST", "/uploads", { ...uploadBase, path: randomBadPath(i) });
    json("POST", "/downloads", { bucket: LMS, paths: [randomBadPath(i + 1000)] });
  }
  for (let i = 0; i < 60; i++) {
    cases.push({
      method: "GET",
      path: `/objects?bucket=${LMS}&prefix=${encodeURIComponent(randomBadPath(i + 5000))}/`,
      token: user,
    });
  }
  const queries = [
    "",
    "bucket=",
    `bucket=${LMS}&limit=abc`,
    `bucket=${LMS}&limit=-5`,
    `bucket=${LMS}&limit=1e9`,
    `bucket=${LMS}&limit=1.5`,
    `bucket=${LMS}&recursive=yes`,
    `bucket=${LMS}&cursor=%00`,
    `bucket=${LMS}&cursor=${btoa("elsewhere/x")}`,
    `bucket=${LMS}&prefix=..%2F`,
    `bucket=${encodeURIComponent("a/b")}`,
    `bucket=${"x".repeat(200)}`,
    "bucket=no-such-bucket",
  ];
  for (const q of queries) cases.push({ method: "GET", path: `/objects?${q}`, token: user });
  const routes = [
    "/uploads",
    "/uploads/batch",
    "/objects",
    "/folders",
    "/downloads",
    "/quota",
    "/admin/reconcile",
  ];
  for (const path of routes) {
    for (const method of ["PATCH", "PUT"]) cases.push({ method, path, token: user });
    for (const token of bad) {
      cases.push({
        method: "GET",
        path: `${path}${path === "/objects" ? `?bucket=${LMS}` : ""}`,
        token,
      });
    }
  }
  for (
    const path of [
      "/admin/users/x/usage",
      "/admin/users/../plan",
      "/nope",
      "/uploads/nope",
      "/storage",
    ]
  ) {
    cases.push({ method: "GET", path, token: service });
  }
  return cases;
}

Deno.test("over 1,000 malformed requests all get a coded 4xx, never a 500 or a hang", async () => {
  const base = await functionUrl("storage");
  const user = await createUser();
  const s = await stack();
  const header = btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "");
  const claims = btoa(JSON.stringify({ sub: user.id, role: "authenticated", exp: 9e9 })).replace(
    /=+$/,
    "",
  );
  const bad = [
    "",
    "garbage",
    "a.b.c",
    `${header}.${claims}.`,
    await tokenFor(user.id, { expiresIn: -10 }),
    s.publishableKey,
    await tokenFor(user.id, { role: "anon" }),
    user.token.slice(0, -4) + "AAAA",
  ];
  const cases = buildCases(user.token, s.secretKey, bad);
  assert.ok(cases.length >= 1000, `only ${cases.length} cases`);

  const failures: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < cases.length) {
      const c = cases[next++];
      const headers: Record<string, string> = {};
      if (c.token !== null) headers.authorization = `Bearer ${c.token}`;
      if (c.contentType) headers["content-type"] = c.contentType;
      const label = `${c.method} ${c.path} ${(c.body ?? "").slice(0, 80)}`;
      try {
        const response = await fetch(base + c.path, {
          method: c.method,
          headers,
          body: c.body,
          signal: AbortSignal.timeout(15_000),
        });
        const text = await response.text();
        let code: unknown;
        try {
          code = JSON.parse(text).error?.code;
        } catch {
          code = undefined;
        }
        if (response.status < 400 || response.status >= 500 || typeof code !== "string") {
          failures.push(`${response.status} ${String(code)} <- ${label}`);
        }
      } catch (error) {
        failures.push(`${(error as Error).name} <- ${label}`);
      }
    }
  }));
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${cases.length} failed`);
});
