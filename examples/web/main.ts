/**
 * @module The example page: signs in (or up) with email and password through
 * supabase-js Auth, shows who is signed in, shows the quota,
 * uploads with progress, browses one folder level at a time (breadcrumbs,
 * paging), deletes a folder with progress and opens signed download links,
 * all through the typed client, imported as an app imports it: `@stowage/client`
 * (the import map and examples/web/build.ts resolve it to clients/js/mod.ts).
 *
 * URL options: `?url=` the Supabase URL (default: this page's origin, the
 * local stack's gateway); `?key=` its publishable key (`sb_publishable_...`, or a legacy
 * anon key; default: the serving stack's; never a secret key);
 * `?bucket=`; `?pageSize=`.
 */
import { createStowage, type ListPage, type Stowage } from "@stowage/client";
import { byId, h } from "./dom.ts";
import { explain, files, formatBytes, formatDate } from "./format.ts";
import type { AuthError, Session, SupabaseClient } from "@supabase/supabase-js";
import {
  authClient,
  explainAuthError,
  type Identity,
  identityOf,
  publishableKey,
} from "./session.ts";
import { setupUploads } from "./uploads.ts";

const params = new URLSearchParams(location.search);
const apiUrl = params.get("url") ?? location.origin;
const pageSize = Math.min(1000, Math.max(1, Number(params.get("pageSize")) || 50));

const state = {
  identity: null as Identity | null,
  bucket: params.get("bucket") ?? "anantra-lms-store",
  prefix: "",
  /** Cursors of the pages shown so far: cursors[i] opens page i. */
  cursors: [null] as (string | null)[],
  page: 0,
  nextCursor: null as string | null,
  /** Folders made with "New folder" that hold no file yet (folders exist only as prefixes). */
  newFolders: new Set<string>(),
};

let supabase: SupabaseClient | undefined;
/** The client, on the page's supabase-js client (made once the anon key is known). */
let stowage: Stowage;

function showSignIn(message = ""): void {
  state.identity = null;
  byId("app").hidden = true;
  byId("signin").hidden = false;
  byId("who").replaceChildren();
  byId("signin-error").textContent = message;
}

async function refreshQuota(): Promise<void> {
  const box = byId("quota");
  try {
    const q = await stowage.quota();
    const pct = (n: number) => `${Math.min(100, (n / q.quotaBytes) * 100)}%`;
    byId("quota-used").style.width = pct(q.usedBytes);
    byId("quota-reserved").style.width = pct(q.reservedBytes);
    byId("plan").textContent = `${q.plan} plan`;
    byId("quota-text").textContent = `${formatBytes(q.usedBytes)} of ${
      formatBytes(q.quotaBytes)
    } used · ${files(q.objectCount)} · ${formatBytes(q.availableBytes)} free`;
    box.dataset.used = String(q.usedBytes);
    box.dataset.quota = String(q.quotaBytes);
  } catch (error) {
    byId("quota-text").textContent = explain(error);
  }
}

function renderCrumbs(): void {
  const parts = state.prefix.split("/").filter(Boolean);
  const crumb = (label: string, prefix: string, current: boolean) =>
    current
      ? h("span", { class: "current", "aria-current": "page" }, label)
      : Object.assign(h("button", { type: "button", class: "link" }, label), {
        onclick: () => navigate(prefix),
      });
  const nodes: Node[] = [crumb("Home", "", parts.length === 0)];
  parts.forEach((part, i) => {
    nodes.push(h("span", { class: "sep" }, "/"));
    nodes.push(crumb(part, parts.slice(0, i + 1).join("/") + "/", i === parts.length - 1));
  });
  byId("crumbs").replaceChildren(...nodes);
  byId("delete-folder").hidden = state.prefix === "";
  byId("drop-target").textContent = `into ${state.bucket}/${state.prefix || "(home)"}`;
}

async function openLink(path: string, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  try {
    const [link] = await stowage.downloadUrls({ bucket: state.bucket, paths: [path] });
    if ("error" in link) throw new Error(link.error.message);
    const a = h("a", { href: link.signedUrl, target: "_blank", rel: "noopener", class: "signed" });
    a.textContent = "link";
    button.after(a);
    a.click();
  } catch (error) {
    byId("list-error").textContent = explain(error);
  } finally {
    button.disabled = false;
  }
}

function renderPage(page: ListPage): void {
  const known = new Set(page.folders.map((f) => f.path));
  const extra = state.page === 0
    ? [...state.newFolders].filter((p) => {
      const rest = p.slice(state.prefix.length, -1);
      return p.startsWith(state.prefix) && rest !== "" && !rest.includes("/") && !known.has(p);
    })
    : [];
  const folderRows = [
    ...extra.map((path) => ({ path, name: path.slice(state.prefix.length, -1) })),
    ...page.folders,
  ].map((f) => {
    const open = h(
      "button",
      { type: "button", class: "link folder" },
      h("span", { class: "icon-folder", "aria-hidden": "true" }),
      f.name,
    );
    open.onclick = () => navigate(f.path);
    return h(
      "tr",
      { "data-path": f.path, class: "folder" },
      h("td", {}, open),
      h("td"),
      h("td"),
      h("td"),
      h("td"),
    );
  });
  const fileRows = page.items.map((f) => {
    const button = h("button", { type: "button", class: "open" }, "Open");
    button.onclick = () => openLink(f.path, button);
    return h(
      "tr",
      { "data-path": f.path, "data-size": String(f.size), class: "file" },
      h("td", { class: "name" }, f.name),
      h("td", { class: "num size" }, formatBytes(f.size)),
      h("td", { class: "muted" }, f.contentType ?? "—"),
      h("td", { class: "muted" }, formatDate(f.updatedAt)),
      h("td", { class: "actions" }, button),
    );
  });
  byId("rows").replaceChildren(...folderRows, ...fileRows);
  byId("empty").hidden = folderRows.length + fileRows.length > 0;
  state.nextCursor = page.nextCursor;
  byId<HTMLButtonElement>("prev").disabled = state.page === 0;
  byId<HTMLButtonElement>("next").disabled = !page.nextCursor;
  byId("page-no").textContent = `Page ${state.page + 1}`;
}

async function refreshList(): Promise<void> {
  byId("list-error").textContent = "";
  try {
    renderPage(
      await stowage.list({
        bucket: state.bucket,
        prefix: state.prefix,
        limit: pageSize,
        cursor: state.cursors[state.page],
      }),
    );
  } catch (error) {
    byId("list-error").textContent = explain(error);
  }
}

function navigate(prefix: string): Promise<void> {
  state.prefix = prefix;
  state.cursors = [null];
  state.page = 0;
  byId("delete-panel").hidden = true;
  renderCrumbs();
  return refreshList();
}

async function deleteFolder(): Promise<void> {
  const prefix = state.prefix;
  const bar = byId<HTMLProgressElement>("delete-progress");
  byId("delete-buttons").hidden = true;
  bar.hidden = false;
  bar.removeAttribute("value");
  byId("delete-text").textContent = "Deleting…";
  try {
    const result = await stowage.deleteFolder({
      bucket: state.bucket,
      prefix,
      onProgress: (p) => {
        bar.max = p.deleted + p.remaining || 1;
        bar.value = p.deleted;
        byId("delete-text").textContent = `Deleted ${files(p.deleted)}, ${
          p.remainingCapped ? "more than " : ""
        }${p.remaining} left…`;
      },
    });
    bar.max = 1;
    bar.value = 1;
    byId("delete-text").textContent = `Deleted ${files(result.deleted)} from "${prefix}".`;
    byId("delete-question").textContent = "";
    for (const p of [...state.newFolders]) if (p.startsWith(prefix)) state.newFolders.delete(p);
    byId("delete-panel").dataset.state = "done";
    const parent = prefix.slice(0, -1).split("/").slice(0, -1).join("/");
    await navigate(parent ? `${parent}/` : "");
    byId("delete-panel").hidden = false;
  } catch (error) {
    byId("delete-panel").dataset.state = "error";
    byId("delete-text").textContent = explain(error);
    byId("delete-buttons").hidden = false;
  } finally {
    await refreshQuota();
  }
}

/** Signs in, or creates the account (`signUp`), with the form's email and password. */
async function submitCredentials(mode: "in" | "up"): Promise<void> {
  if (!supabase) return;
  const form = byId<HTMLFormElement>("signin-form");
  if (!form.reportValidity()) return;
  const email = byId<HTMLInputElement>("email").value.trim();
  const password = byId<HTMLInputElement>("password").value;
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => b.disabled = true);
  byId("signin-error").textContent = "";
  try {
    const { error } = mode === "in"
      ? await supabase.auth.signInWithPassword({ email, password })
      : await supabase.auth.signUp({ email, password });
    if (error) byId("signin-error").textContent = explainAuthError(error as AuthError);
    else byId<HTMLInputElement>("password").value = "";
  } catch (error) {
    byId("signin-error").textContent = `Could not reach the auth server: ${
      (error as Error).message
    }`;
  } finally {
    buttons.forEach((b) => b.disabled = false);
  }
}

function wire(): void {
  byId("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    submitCredentials("in");
  });
  byId("sign-up").onclick = () => submitCredentials("up");
  const bucket = byId<HTMLSelectElement>("bucket");
  bucket.value = state.bucket;
  bucket.onchange = () => {
    state.bucket = bucket.value;
    navigate("");
  };
  const folderForm = byId<HTMLFormElement>("folder-form");
  byId("new-folder").onclick = () => {
    folderForm.hidden = false;
    byId<HTMLInputElement>("folder-name").focus();
  };
  folderForm.onsubmit = (e) => {
    e.preventDefault();
    const input = byId<HTMLInputElement>("folder-name");
    const name = input.value.trim().replace(/^\/+|\/+$/g, "");
    folderForm.hidden = true;
    input.value = "";
    if (!name) return;
    const path = `${state.prefix}${name}/`;
    state.newFolders.add(path);
    navigate(path);
  };
  byId("delete-folder").onclick = () => {
    const panel = byId("delete-panel");
    panel.hidden = false;
    panel.dataset.state = "asking";
    byId("delete-buttons").hidden = false;
    byId("delete-progress").hidden = true;
    byId("delete-text").textContent = "";
    byId("delete-question").textContent =
      `Delete "${state.prefix}" and every file below it? This cannot be undone.`;
  };
  byId("delete-yes").onclick = () => deleteFolder();
  byId("delete-no").onclick = () => byId("delete-panel").hidden = true;
  byId("prev").onclick = () => {
    state.page = Math.max(0, state.page - 1);
    refreshList();
  };
  byId("next").onclick = () => {
    state.cursors[state.page + 1] = state.nextCursor;
    state.page++;
    refreshList();
  };
}

/** Shows who is signed in (and until when the current access token runs). */
function showWho(identity: Identity): void {
  const out = h("button", { type: "button", id: "sign-out" }, "Sign out");
  out.onclick = async () => {
    out.disabled = true;
    await supabase?.auth.signOut();
  };
  const who = byId("who");
  who.dataset.expiresAt = identity.expiresAt ? String(identity.expiresAt.getTime()) : "";
  who.replaceChildren(
    h("span", { id: "who-email", title: `User ${identity.sub}` }, identity.email ?? identity.sub),
    out,
  );
}

/** Follows supabase-js's session: sign-in opens the app, a refresh updates who, sign-out closes it. */
function onSession(session: Session | null): void {
  if (!session) return showSignIn();
  const identity = identityOf(session);
  const wasSignedIn = state.identity?.sub === identity.sub;
  state.identity = identity;
  showWho(identity);
  if (wasSignedIn) return;
  byId("signin").hidden = true;
  byId("app").hidden = false;
  refreshQuota();
  navigate("");
}

wire();
try {
  supabase = authClient(apiUrl, await publishableKey(params));
  // The token comes from supabase-js: its session before each call, refreshed on a 401.
  stowage = createStowage({ url: apiUrl, supabase });
  setupUploads(stowage, {
    bucket: () => state.bucket,
    prefix: () => state.prefix,
    onUploaded: () => Promise.all([refreshList(), refreshQuota()]).then(() => {}),
    onFailed: refreshQuota,
  });
  supabase.auth.onAuthStateChange((_event, session) => {
    // supabase-js asks that its callbacks return quickly; the page's work runs after.
    setTimeout(() => onSession(session), 0);
  });
} catch (error) {
  showSignIn((error as Error).message);
}
