/**
 * @module Entry of the storage Edge Function: reads the environment once and
 * exports the app's fetch handler, the form the Edge Runtime (and `supabase
 * functions new`) uses: `export default { fetch }`.
 */
import { createStorageApp } from "./app.ts";
import { createRuntime } from "./context.ts";

const app = createStorageApp(createRuntime(Deno.env.toObject()));

export default { fetch: app.fetch };
