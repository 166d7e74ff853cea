/**
 * @module Runs one Edge Function the way the Edge Runtime does: imports
 * `supabase/functions/<name>/index.ts`, whose `Deno.serve(handler)` call is
 * bound here to the loopback port the gateway chose (the runtime ignores the
 * function's own port options too).
 *
 * Usage: deno run --allow-net --allow-env --allow-read stack/function-runner.ts <entry> <port> <name>
 */
const [entryPath, portText, name] = Deno.args;
const port = Number(portText);
if (!entryPath || !name || !Number.isInteger(port)) {
  console.error("usage: function-runner.ts <entry index.ts> <port> <name>");
  Deno.exit(2);
}

type Handler = Deno.ServeHandler;
const originalServe = Deno.serve.bind(Deno);
let served = false;

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
  return originalServe({
    hostname: "127.0.0.1",
    port,
    onListen() {
      console.log(`function ${name} listening on ${port}`);
    },
  }, handler);
};

await import(new URL(entryPath, `file://${Deno.cwd()}/`).href);
if (!served) {
  console.error(`Function "${name}" did not call Deno.serve`);
  Deno.exit(1);
}
