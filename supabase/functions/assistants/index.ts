/**
 * @module Entry of the `assistants` Edge Function: builds the app from the
 * environment and serves it.
 */
import { createRuntime } from "./context.ts";
import { createApp } from "./app.ts";

const app = createApp(createRuntime(Deno.env.toObject()));

/** The Edge Runtime's entry form: `export default { fetch }`. */
export default { fetch: app.fetch };
