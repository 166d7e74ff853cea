/**
 * @module A new app uses Stowage the way a user's app would: a fresh Vite +
 * TypeScript project in a temporary folder installs the packed
 * `@stowage/client` tarball and supabase-js from npm, type-checks with
 * `tsc` (strict), builds with `vite build`, and its built page, served from
 * another origin than the stack, is driven in Chromium against the local
 * stack: sign in with email and password (the page hands its supabase-js
 * client to `createStowage`), upload a file with progress, see it listed,
 * download it through a signed link, delete it.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { extname, join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { createClient } from "@supabase/supabase-js";
import { packPackage } from "../../clients/js/build.ts";
import { stack } from "../support/stack.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];
const SHOTS = new URL("../../test-results/browser/", import.meta.url).pathname;
/** What the new app installs from npm (versions that install on Node 20). */
const NPM_PACKAGES = ["vite@7.3.8", "typescript@5.9.3", "@supabase/supabase-js@2.119.0"];

const FILES: Record<string, string> = {
  "package.json": JSON.stringify(
    {
      name: "fresh-app",
      private: true,
      type: "module",
      scripts: { build: "tsc && vite build" },
    },
    null,
    2,
  ),
  // Vite's vanilla-ts template settings; strict, no flag beyond them.
  "tsconfig.json": JSON.stringify(
    {
      compilerOptions: {
        target: "ES2022",
        useDefineForClassFields: true,
        module: "ESNext",
        lib: ["ES2022", "DOM", "DOM.Iterable"],
        types: ["vite/client"],
        skipLibCheck: true,
        moduleResolution: "bundler",
        moduleDetection: "force",
        noEmit: true,
        strict: true,
        noUnusedLocals: true,
        noUnusedParameters: true,
        noFallthroughCasesInSwitch: true,
      },
      include: ["src"],
    },
    null,
    2,
  ),
  "index.html": `<!doctype html>
<html lang="en">
  <head><meta charset="UTF-8" /><title>Fresh app</title></head>
  <body>
    <form id="signin">
      <input id="email" type="email" /><input id="password" type="password" />
      <button id="sign-in" type="submit">Sign in</button>
    </form>
    <section id="app" hidden>
      <input id="file" type="file" />
      <progress id="progress" max="1" value="0"></progress>
      <ul id="files"></ul>
      <pre id="downloaded"></pre>
    </section>
    <p id="status"></p>
    <script type="module" src="/src/main.ts"></script>
  </body>
</html>
`,
  "src/main.ts": `import { createClient } from "@supabase/supabase-js";
import { createStowage, StowageError, type ListedFile } from "@stowage/client";

const url: string = import.meta.env.VITE_SUPABASE_URL;
const supabase = createClient(url, import.meta.env.VITE_SUPABASE_ANON_KEY);
const stowage = createStowage({ url, supabase });
const BUCKET = "anantra-lms-store";
const el = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const seen: number[] = [];

function show(error: unknown): void {
  el("status").textContent = error instanceof StowageError
    ? \`\${error.code}: \${error.message}\`
    : String(error);
}

function button(label: string, onClick: () => Promise<void>): HTMLButtonElement {
  const b = document.createElement("button");
  b.textContent = label;
  b.className = label.toLowerCase();
  b.addEventListener("click", () => onClick().catch(show));
  return b;
}

function row(item: ListedFile): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.path = item.path;
  li.append(\`\${item.name} (\${item.size} bytes) \`);
  li.append(button("Download", async () => {
    const [link] = await stowage.downloadUrls({ bucket: BUCKET, paths: [item.path] });
    if (!("signedUrl" in link)) throw new Error(link.error.message);
    el("downloaded").textContent = await (await fetch(link.signedUrl)).text();
  }));
  li.append(button("Delete", async () => {
    await stowage.deleteFiles({ bucket: BUCKET, paths: [item.path] });
    await render();
  }));
  return li;
}

async function render(): Promise<void> {
  const page = await stowage.list({ bucket: BUCKET, prefix: "fresh/" });
  el("files").replaceChildren(...page.items.map(row));
  el("files").dataset.count = String(page.items.length);
}

el<HTMLFormElement>("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { error } = await supabase.auth.signInWithPassword({
    email: el<HTMLInputElement>("email").value,
    password: el<HTMLInputElement>("password").value,
  });
  if (error) return show(error.message);
  el("signin").hidden = true;
  el("app").hidden = false;
  await render().catch(show);
});

el<HTMLInputElement>("file").addEventListener("change", async () => {
  const file = el<HTMLInputElement>("file").files?.[0];
  if (!file) return;
  try {
    await stowage.upload(file, {
      bucket: BUCKET,
      path: \`fresh/\${file.name}\`,
      onProgress: (p) => {
        el<HTMLProgressElement>("progress").value = p.fraction;
        seen.push(p.fraction);
        el("progress").dataset.seen = seen.join(",");
      },
    });
    await render();
  } catch (error) {
    show(error);
  }
});
`,
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

async function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: { npm_config_update_notifier: "false", npm_config_fund: "false", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `${cmd} ${args.join(" ")} failed:\n${text}`);
  return text;
}

Deno.test({
  name: "a fresh Vite + TypeScript app installs the packed client and uses it in Chromium",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    try {
      await Deno.stat(CHROMIUM);
    } catch {
      throw new Error(
        `Cannot run the browser test: no Chromium at ${CHROMIUM}. Install Debian's package ` +
          "(as root: apt-get install -y --no-install-recommends chromium; npm test does this) " +
          "or set CHROMIUM_PATH.",
      );
    }
    const creds = await stack();
    const work = await Deno.makeTempDir({ prefix: "stowage-fresh-app-" });
    let server: Deno.HttpServer | undefined;
    try {
      // The app, as `npm create vite` would lay it out: its packages install from npm while
      // the client is packed, then the tarball installs (npm's cache used when it has them).
      const t0 = Date.now();
      const app = join(work, "app");
      for (const [path, text] of Object.entries(FILES)) {
        await Deno.mkdir(join(app, path, ".."), { recursive: true });
        await Deno.writeTextFile(join(app, path), text);
      }
      const npmInstall = (...what: string[]) =>
        sh("npm", [
          "install",
          "--no-audit",
          "--no-fund",
          "--prefer-offline",
          "--loglevel=error",
          ...what,
        ], app);
      const [tarball] = await Promise.all([
        packPackage(join(work, "pack")).then((path) => {
          console.log(`packed in ${Date.now() - t0} ms`);
          return path;
        }),
        npmInstall(...NPM_PACKAGES),
      ]);
      await npmInstall(tarball);
      console.log(`installed in ${Date.now() - t0} ms`);
      const manifest = JSON.parse(await Deno.readTextFile(join(app, "package.json")));
      assert.match(manifest.dependencies["@stowage/client"], /^file:.*\.tgz$/);
      // Build (tsc, then vite), while a new account is made through supabase-js (the stack's
      // Auth, email and password) and Chromium starts.
      const email = `fresh-${crypto.randomUUID().slice(0, 8)}@test.example`;
      const password = `pw-${crypto.randomUUID().slice(0, 8)}`;
      const profile = await Deno.makeTempDir({ prefix: "stowage-chromium-" });
      const [built, signUp, launched] = await Promise.allSettled([
        sh("npm", ["run", "build"], app, {
          VITE_SUPABASE_URL: creds.url,
          VITE_SUPABASE_ANON_KEY: creds.anonKey,
        }),
        createClient(creds.url, creds.anonKey, {
          auth: { persistSession: false, autoRefreshToken: false },
        }).auth.signUp({ email, password }),
        chromium.launchPersistentContext(profile, {
          executablePath: CHROMIUM,
          headless: true,
          args: FLAGS,
        }),
      ]);
      console.log(`built in ${Date.now() - t0} ms`);
      if (
        built.status === "rejected" || signUp.status === "rejected" || signUp.value.error ||
        launched.status === "rejected"
      ) {
        if (launched.status === "fulfilled") await launched.value.close();
        await Deno.remove(profile, { recursive: true }).catch(() => {});
        if (built.status === "rejected") throw built.reason;
        if (signUp.status === "rejected") throw signUp.reason;
        assert.equal(signUp.value.error, null);
        if (launched.status === "rejected") throw launched.reason;
      }
      const context = (launched as PromiseFulfilledResult<BrowserContext>).value;

      // The built page, served from its own origin (not the stack's).
      const dist = join(app, "dist");
      server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
        const path = new URL(req.url).pathname;
        const file = join(dist, path === "/" ? "index.html" : path);
        if (!file.startsWith(dist)) return new Response("no", { status: 404 });
        try {
          return new Response(await Deno.readFile(file), {
            headers: { "content-type": TYPES[extname(file)] ?? "application/octet-stream" },
          });
        } catch {
          return new Response("not found", { status: 404 });
        }
      });
      const origin = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;

      const errors: string[] = [];
      const page = context.pages()[0] ?? await context.newPage();
      try {
        page.setDefaultTimeout(15_000);
        page.on("pageerror", (e) => errors.push(e.message));
        await page.goto(`${origin}/`);
        await page.fill("#email", email);
        await page.fill("#password", password);
        await page.click("#sign-in");
        await page.waitForSelector('#app:not([hidden]) #files[data-count="0"]', {
          state: "attached",
        });

        // Upload with progress, then the listing shows it with its size.
        const bytes = Buffer.from("hello from a fresh app\n".repeat(4096));
        await page.setInputFiles("#file", {
          name: "hello.txt",
          mimeType: "text/plain",
          buffer: bytes,
        });
        const item = '#files li[data-path="fresh/hello.txt"]';
        await page.waitForSelector(item);
        assert.match((await page.textContent(item)) ?? "", new RegExp(`${bytes.length} bytes`));
        const seen = (await page.getAttribute("#progress", "data-seen"))!.split(",").map(Number);
        assert.equal(seen[0], 0);
        assert.equal(seen.at(-1), 1);
        assert.equal(await page.textContent("#status"), "");

        // Download through a signed link: the same bytes.
        await page.click(`${item} button.download`);
        await page.waitForFunction(() => document.getElementById("downloaded")!.textContent);
        assert.equal(await page.textContent("#downloaded"), bytes.toString());

        // Delete: the listing is empty again.
        await page.click(`${item} button.delete`);
        await page.waitForSelector('#files[data-count="0"]', { state: "attached" });
        assert.equal(await page.textContent("#status"), "");
        assert.deepEqual(errors, [], "no uncaught errors in the page");
      } catch (error) {
        await Deno.mkdir(SHOTS, { recursive: true });
        await page.screenshot({ path: join(SHOTS, "fresh-app-failure.png") }).catch(() => {});
        throw error;
      } finally {
        await context.close();
        await Deno.remove(profile, { recursive: true }).catch(() => {});
      }
    } finally {
      await server?.shutdown();
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
