/**
 * @module The example page in a real browser (Debian's chromium driven by
 * playwright-core) against the running stack, used as a person would (typing,
 * clicking): sign up and sign in with email and password through supabase-js
 * Auth, the token refreshed on its own, sign out; upload two files (file
 * input and drag and drop) with progress to 100 %, see them listed with sizes,
 * hit the plan's quota and read the refusal, open a signed download link and
 * get the bytes back, delete the folder and see the quota return; pause and
 * resume a large (resumable, TUS) upload and get the whole file.
 * Screenshots go to `test-results/browser/` (gitignored).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { createHash } from "node:crypto";
import { adminSql, client, stack } from "../support/stack.ts";
import { buildExample } from "../../examples/web/build.ts";

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
const KIB = 1024;

async function requireChromium(): Promise<void> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `Cannot run the browser test: no Chromium at ${CHROMIUM}. Install Debian's package ` +
        "(as root: apt-get install -y --no-install-recommends chromium; npm test does this) " +
        "or set CHROMIUM_PATH.",
    );
  }
}

function newEmail(): string {
  return `browser-${crypto.randomUUID().slice(0, 8)}@test.example`;
}

/** Types the credentials into the sign-in form and clicks a button, as a person does. */
async function submitCredentials(
  page: Page,
  email: string,
  password: string,
  button: "#sign-in" | "#sign-up",
): Promise<void> {
  await page.waitForSelector("#signin:not([hidden])");
  await page.fill("#email", "");
  await page.type("#email", email);
  await page.fill("#password", "");
  await page.type("#password", password);
  await page.click(button);
}

/** Signs up a new account through the page and waits until the app shows. */
async function signUpThroughPage(page: Page): Promise<{ email: string; password: string }> {
  const account = { email: newEmail(), password: `pw-${crypto.randomUUID().slice(0, 8)}` };
  await submitCredentials(page, account.email, account.password, "#sign-up");
  await page.waitForSelector("#app:not([hidden])");
  assert.equal(await page.textContent("#who-email"), account.email);
  return account;
}

/** Puts the user with this email on a plan of its own with a 1 MiB quota. */
async function smallPlan(email: string): Promise<string> {
  const plan = `browser-${crypto.randomUUID().slice(0, 8)}`;
  const sql = await adminSql();
  try {
    await sql`insert into stowage.plans (id, quota_bytes) values (${plan}, ${1024 * KIB})`;
    const [user] = await sql`select id from auth.users where email = ${email}`;
    await sql`select stowage.set_plan(${user.id}::uuid, ${plan})`;
  } finally {
    await sql.end();
  }
  return plan;
}

/** The session supabase-js keeps in localStorage (`sb-<host>-auth-token`). */
async function storedSession(
  page: Page,
): Promise<{ key: string; session: Record<string, unknown> } | null> {
  return await page.evaluate(() => {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i)!;
      if (key.startsWith("sb-") && key.endsWith("-auth-token")) {
        return { key, session: JSON.parse(localStorage.getItem(key)!) };
      }
    }
    return null;
  });
}

function bytes(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = 32 + ((i * 7 + seed) % 95);
  return b;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function usedBytes(page: Page): Promise<number> {
  return Number(await page.getAttribute("#quota", "data-used"));
}

/** Runs `fn` with a page in a fresh Chromium profile, then closes everything. */
async function withPage(name: string, fn: (page: Page, context: BrowserContext) => Promise<void>) {
  await requireChromium();
  await buildExample();
  await Deno.mkdir(SHOTS, { recursive: true });
  const profile = await Deno.makeTempDir({ prefix: "stowage-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1100, height: 900 },
    reducedMotion: "reduce",
  });
  const errors: string[] = [];
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on("pageerror", (e) => errors.push(e.message));
    try {
      await fn(page, context);
    } catch (error) {
      await shot(page, `${name}-failure`).catch(() => {});
      throw error;
    }
    assert.deepEqual(errors, [], "no uncaught errors in the page");
  } finally {
    await context.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "example page: upload with progress, list, quota refusal, download, delete folder",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { url } = await stack();
    await withPage("main", async (page, context) => {
      // A new account, made through the page; then a small plan, and the page reloaded:
      // supabase-js kept the session, so the user is still signed in.
      await page.goto(`${url}/examples/web/`);
      const account = await signUpThroughPage(page);
      const plan = await smallPlan(account.email);
      await page.reload();
      await page.waitForSelector("#app:not([hidden])");
      assert.equal(await page.textContent("#who-email"), account.email);
      await page.waitForSelector('#quota[data-used="0"]');
      assert.match((await page.textContent("#plan")) ?? "", new RegExp(plan));
      await shot(page, "1-signed-in");

      // A new folder, then two files: one through the file input, one dropped.
      // Home lists nothing yet.
      await page.waitForSelector("#empty:not([hidden])");
      await page.click("#new-folder");
      await page.fill("#folder-name", "docs");
      await page.click('#folder-form button[type="submit"]');
      await page.waitForSelector("#crumbs .current >> text=docs");
      assert.equal(await page.$$eval("#rows tr", (rows) => rows.length), 0, "docs/ starts empty");
      // Record every progress step the page shows (XHR upload progress events).
      await page.evaluate(() => {
        const seen: Record<string, string[]> = {};
        (globalThis as unknown as { progressSeen: typeof seen }).progressSeen = seen;
        new MutationObserver((records) => {
          for (const r of records) {
            const li = r.target as HTMLElement;
            (seen[li.dataset.name!] ??= []).push(li.dataset.progress!);
          }
        }).observe(document.querySelector("#uploads")!, {
          subtree: true,
          attributeFilter: ["data-progress"],
        });
      });
      const a = bytes(300 * KIB, 1);
      const b = Buffer.from(JSON.stringify({ hello: "world", n: 42 }));
      await page.setInputFiles("#file", { name: "a.txt", mimeType: "text/plain", buffer: a });
      const drop = await page.evaluateHandle((text) => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], "b.json", { type: "application/json" }));
        return dt;
      }, b.toString());
      await page.dispatchEvent("#drop", "drop", { dataTransfer: drop });
      for (const name of ["a.txt", "b.json"]) {
        const row = `li.upload[data-name="${name}"]`;
        await page.waitForSelector(`${row}[data-state="done"]`);
        assert.equal(
          await page.$eval(`${row} progress`, (p) => (p as HTMLProgressElement).value),
          1,
        );
        assert.equal(await page.textContent(`${row} .status`), "Uploaded");
      }

      const progress = await page.evaluate(() =>
        (globalThis as unknown as { progressSeen: Record<string, string[]> }).progressSeen
      );
      for (const name of ["a.txt", "b.json"]) {
        assert.equal(progress[name]?.[0], "0", `${name} starts at 0 %`);
        assert.equal(progress[name]?.at(-1), "100", `${name} reaches 100 %`);
      }
      // Listed with their sizes; the quota bar counts them.
      await page.waitForSelector('tr[data-path="docs/b.json"]');
      assert.equal(await page.textContent('tr[data-path="docs/a.txt"] .size'), "300 KiB");
      assert.equal(
        await page.textContent('tr[data-path="docs/b.json"] .size'),
        `${b.length} bytes`,
      );
      await page.waitForFunction(
        (n) => document.querySelector("#quota")?.getAttribute("data-used") === String(n),
        a.length + b.length,
      );
      await shot(page, "2-uploaded");

      // A file larger than what is left of the 1 MiB plan: refused, in words.
      await page.setInputFiles("#file", {
        name: "big.bin",
        mimeType: "application/octet-stream",
        buffer: Buffer.alloc(900 * KIB),
      });
      const big = 'li.upload[data-name="big.bin"]';
      await page.waitForSelector(`${big}[data-state="error"]`);
      const refusal = (await page.textContent(`${big} .status`)) ?? "";
      assert.match(
        refusal,
        /^Storage full: "big\.bin" needs 900 KiB, but only \d+ KiB of your 1\.0 MiB plan is left\.$/,
      );
      assert.equal(await page.$('tr[data-path="docs/big.bin"]'), null);
      assert.equal(await usedBytes(page), a.length + b.length);
      await shot(page, "3-quota-refused");

      // A signed download link opens in a new tab and serves the same bytes.
      const [popup] = await Promise.all([
        context.waitForEvent("page"),
        page.click('tr[data-path="docs/a.txt"] button.open'),
      ]);
      await popup.waitForLoadState();
      assert.match(popup.url(), /\/storage\/v1\/object\/sign\//);
      const href = await page.getAttribute('tr[data-path="docs/a.txt"] a.signed', "href");
      assert.ok(href);
      const got = await page.evaluate(async (u) => {
        const r = await fetch(u);
        return Array.from(new Uint8Array(await r.arrayBuffer()));
      }, href);
      assert.deepEqual(Buffer.from(got), a);
      await popup.close();

      // Delete the folder: progress, back to Home, the quota returns to zero.
      await page.click("#delete-folder");
      await page.click("#delete-yes");
      await page.waitForSelector('#delete-panel[data-state="done"]');
      assert.equal(await page.textContent("#delete-text"), 'Deleted 2 files from "docs/".');
      await page.waitForSelector('#quota[data-used="0"]');
      assert.equal(await page.textContent("#crumbs .current"), "Home");
      assert.equal(await page.$('tr[data-path^="docs/"]'), null);
      await shot(page, "4-folder-deleted");
    });
  },
});

Deno.test({
  name:
    "example page from another origin: CORS lets uploads, listing and links through; a refused type is explained",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { url } = await stack();
    // localhost and 127.0.0.1 are different origins: every call is cross-origin.
    const other = url.replace("127.0.0.1", "localhost");
    assert.notEqual(other, url, "the stack URL uses 127.0.0.1");
    await withPage("cross-origin", async (page) => {
      await page.goto(`${other}/examples/web/?pageSize=1&url=${encodeURIComponent(url)}`);
      await signUpThroughPage(page);
      await page.waitForSelector('#quota[data-used="0"]');
      const body = Buffer.from("cross-origin bytes\n");
      await page.setInputFiles("#file", { name: "c.txt", mimeType: "text/plain", buffer: body });
      await page.waitForSelector('li.upload[data-name="c.txt"][data-state="done"]');
      await page.waitForSelector('tr[data-path="c.txt"]');
      await page.waitForSelector(`#quota[data-used="${body.length}"]`);
      const [popup] = await Promise.all([
        page.context().waitForEvent("page"),
        page.click('tr[data-path="c.txt"] button.open'),
      ]);
      await popup.close();
      const href = await page.getAttribute('tr[data-path="c.txt"] a.signed', "href");
      assert.ok(href?.startsWith(url), `the link points at the API (${href})`);
      const text = await page.evaluate(async (u) => await (await fetch(u)).text(), href!);
      assert.equal(text, body.toString());

      // Paging, one entry a page: a second file shows on page 2.
      await page.setInputFiles("#file", { name: "d.txt", mimeType: "text/plain", buffer: body });
      await page.waitForSelector('li.upload[data-name="d.txt"][data-state="done"]');
      await page.waitForSelector("#next:not([disabled])");
      assert.deepEqual(await page.$$eval("#rows tr", (r) => r.map((e) => e.dataset.path)), [
        "c.txt",
      ]);
      await page.click("#next");
      await page.waitForSelector('tr[data-path="d.txt"]');
      assert.equal(await page.textContent("#page-no"), "Page 2");
      assert.ok(await page.$("#next[disabled]"), "no page after the last");
      await page.click("#prev");
      await page.waitForSelector('tr[data-path="c.txt"]');

      await page.selectOption("#bucket", "audiofiles");
      await page.waitForSelector("#drop-target >> text=audiofiles");
      await page.setInputFiles("#file", {
        name: "notes.txt",
        mimeType: "text/plain",
        buffer: body,
      });
      const row = 'li.upload[data-name="notes.txt"]';
      await page.waitForSelector(`${row}[data-state="error"]`);
      assert.match(
        (await page.textContent(`${row} .status`)) ?? "",
        /^Wrong type: this bucket does not take "notes\.txt"; it accepts audio\/mpeg/,
      );
      await shot(page, "5-cross-origin");
    });
  },
});

Deno.test({
  name:
    "example page sign-in: a wrong password is explained, a dev user signs in, the token refreshes on its own, sign-out ends the session",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const s = await stack();
    const alice = s.users.find((u) => u.email === "alice@example.com")!;
    await withPage("sign-in", async (page) => {
      await page.goto(`${s.url}/examples/web/`);
      await submitCredentials(page, alice.email, "not her password", "#sign-in");
      await page.waitForSelector("#signin-error >> text=Wrong email or password.");
      assert.equal(await storedSession(page), null, "no session after a failed sign-in");

      await submitCredentials(page, alice.email, alice.password, "#sign-up");
      await page.waitForSelector(
        "#signin-error >> text=That email already has an account: sign in instead.",
      );

      await submitCredentials(page, alice.email, alice.password, "#sign-in");
      await page.waitForSelector("#app:not([hidden])");
      assert.equal(await page.textContent("#who-email"), alice.email);
      await page.waitForSelector("#quota[data-used]");
      await shot(page, "6-dev-user-signed-in");

      // The access token is about to expire: supabase-js refreshes it by itself
      // (the page only reloads, as after a laptop wakes up), and the page follows.
      const before = (await storedSession(page))!;
      await page.evaluate(({ key, session }) => {
        const soon = Math.floor(Date.now() / 1000) + 20;
        localStorage.setItem(key, JSON.stringify({ ...session, expires_at: soon }));
      }, before);
      await page.reload();
      await page.waitForFunction(
        (old) => {
          const who = document.querySelector<HTMLElement>("#who");
          return !!who?.dataset.expiresAt && Number(who.dataset.expiresAt) > old;
        },
        Date.now() + 60_000,
      );
      const after = (await storedSession(page))!;
      assert.notEqual(after.session.refresh_token, before.session.refresh_token, "rotated");
      // A token minted in the same second for the same session may be byte-identical (the
      // stack signs ES256 deterministically); what counts is that it is valid for long again.
      assert.ok(
        Number(after.session.expires_at) > Math.floor(Date.now() / 1000) + 60,
        `expires_at ${after.session.expires_at}`,
      );
      assert.equal(await page.textContent("#who-email"), alice.email);
      await page.waitForSelector("#quota[data-used]");

      await page.click("#sign-out");
      await page.waitForSelector("#signin:not([hidden])");
      assert.equal(await page.textContent("#who"), "");
      assert.equal(await storedSession(page), null, "the session is gone from storage");
      await page.reload();
      await page.waitForSelector("#signin:not([hidden])");
      assert.ok(await page.$("#app[hidden]"), "still signed out after a reload");
      await shot(page, "7-signed-out");
    });
  },
});

Deno.test({
  name: "example page: a large file uploads resumably; pause, resume, and it lands whole",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { url } = await stack();
    const MiB = 1024 * KIB;
    const data = bytes(20 * MiB, 9); // four 6 MiB TUS chunks (the last 2 MiB)
    await withPage("resumable", async (page) => {
      await page.goto(`${url}/examples/web/`);
      await signUpThroughPage(page);
      await page.waitForSelector('#quota[data-used="0"]');
      // Pause from inside the page as soon as the first chunk is stored (30 %), while the
      // second is on its way; then record every progress step after the pause.
      await page.evaluate(() => {
        const w = globalThis as unknown as { afterPause: number[]; pausedAt: number | null };
        w.afterPause = [];
        w.pausedAt = null;
        new MutationObserver(() => {
          const li = document.querySelector<HTMLElement>('li.upload[data-name="long.bin"]');
          const p = Number(li?.dataset.progress);
          if (!li || Number.isNaN(p)) return;
          if (w.pausedAt === null && p >= 35) {
            w.pausedAt = p;
            li.querySelector<HTMLButtonElement>("button.pause")!.click();
          } else if (w.pausedAt !== null) {
            w.afterPause.push(p);
          }
        }).observe(document.querySelector("#uploads")!, {
          subtree: true,
          attributeFilter: ["data-progress"],
        });
      });
      // From a file on disk: Chromium reads it itself (a 20 MiB buffer through CDP is slow).
      const dir = await Deno.makeTempDir({ prefix: "stowage-resumable-" });
      await Deno.writeFile(join(dir, "long.bin"), data);
      await page.setInputFiles("#file", join(dir, "long.bin"));
      const row = 'li.upload[data-name="long.bin"]';
      await page.waitForSelector(`${row}[data-resumable="true"]`);
      await page.waitForSelector(`${row}[data-state="paused"]`);
      assert.match((await page.textContent(`${row} .status`)) ?? "", /^Paused at \d+ %$/);
      assert.equal(await page.textContent(`${row} button.pause`), "Resume");
      await shot(page, "8-resumable-paused");
      await page.evaluate(() => {
        (globalThis as unknown as { afterPause: number[] }).afterPause = [];
      });
      await page.click(`${row} button.pause`);
      await page.waitForSelector(`${row}[data-state="done"]`);
      assert.equal(await page.textContent(`${row} .status`), "Uploaded");
      assert.equal(await page.$(`${row} button.pause`), null, "no buttons once done");
      const after = await page.evaluate(() =>
        (globalThis as unknown as { afterPause: number[] }).afterPause
      );
      assert.ok(after.length > 0, "progress after resuming");
      // The first chunk (6 of 20 MiB: 30 %) stayed on the server: never sent again.
      assert.ok(Math.min(...after) >= 30, `resumed from the stored bytes: ${after.join(",")}`);
      assert.equal(after.at(-1), 100);
      await page.waitForSelector('tr[data-path="long.bin"]');
      assert.equal(await page.textContent('tr[data-path="long.bin"] .size'), "20.0 MiB");
      await page.waitForSelector(`#quota[data-used="${data.length}"]`);
      await shot(page, "9-resumable-done");

      // The stored object is the file, byte for byte.
      const { session } = (await storedSession(page))!;
      const token = session.access_token as string;
      const uid = (session.user as { id: string }).id;
      const { data: blob, error } = await (await client(token)).storage
        .from("anantra-lms-store").download(`user_data/${uid}/long.bin`);
      assert.equal(error, null);
      const got = new Uint8Array(await blob!.arrayBuffer());
      const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
      assert.equal(got.length, data.length);
      assert.equal(sha(got), sha(data));
      await Deno.remove(dir, { recursive: true });
    });
  },
});
