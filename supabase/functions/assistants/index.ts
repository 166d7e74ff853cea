/**
 * @module Entry of the `assistants` Edge Function: builds the app from the
 * environment and serves it.
 */
import { createRuntime } from "./context.ts";
import { createApp } from "./app.ts";

Deno.serve(createApp(createRuntime(Deno.env.toObject())).fetch);
