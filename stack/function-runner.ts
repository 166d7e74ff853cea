/**
 * @module Runs one Edge Function the way the Edge Runtime does: imports
 * `supabase/functions/<name>/index.ts` and serves, on the loopback port the
 * gateway chose, either its default export's `fetch` (`export default { fetch }`,
 * the CLI 3 scaffold's form) or the handler of its `Deno.serve(handler)` call
 * (the runtime ignores the function's own port options too). It exits by itself when its
 * parent (the stack) is gone.
 *
 * Usage: deno run --allow-net --allow-env --allow-read stack/function-runner.ts <entry> <port> <name>
 */
const [entryPath, portText, name] = Deno.args;
const port = Number(portText);
if (!entryPath || !name || !Number.isInteger(port)) {
  console.error("usage: function-runner.ts <entry index.ts> <port> <name>");
  Deno.exit(2);
}

// Orphaned, exit: when the stack's main process dies without stopping its functions (killed
// with SIGKILL), this process is reparented. The stack's watchdog stops the processes it has
// seen, but a function started in the half second before the kill may not be among them.
const parentPid = Deno.ppid;
Deno.unrefTimer(setInterval(() => {
  if (Deno.ppid !== parentPid) Deno.exit(0);
}, 250));

type Handler = Deno.ServeHandler;
const originalServe = Deno.serve.bind(Deno);
let served = false;

function listen(handler: Handler): Deno.HttpServer {
  return originalServe({
    hostname: "127.0.0.1",
    port,
    onListen() {
      console.log(`function ${name} listening on ${port}`);
    },
  }, handler);
}

// deno-lint-ignore no-explicit-any
(Deno as any).serve = (...args: unknown[]) => {
  if (served) throw new Error(`Function "${name}" called Deno.serve twice`);
  served = true;
  const handler =
    (typeof args[0] === "function"
      ? args[0]
      : typeof args[1] === "function"
      ? args[1]
      : (args[0] as { handler?: Handler }).handler) as Handler | undefined;
  if (!handler) throw new Error(`Function "${name}" called Deno.serve without a handler`);
  return listen(handler);
};

const entry = await import(new URL(entryPath, `file://${Deno.cwd()}/`).href);
const exported = entry.default as { fetch?: Handler } | undefined;
if (typeof exported?.fetch === "function") {
  if (served) throw new Error(`Function "${name}" both exports fetch and calls Deno.serve`);
  served = true;
  const fetchHandler = exported.fetch.bind(exported);
  listen((req, info) => fetchHandler(req, info));
}
if (!served) {
  console.error(`Function "${name}" neither exports default { fetch } nor calls Deno.serve`);
  Deno.exit(1);
}
