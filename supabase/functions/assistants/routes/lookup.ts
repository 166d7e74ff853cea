/**
 * @module `GET /lookup/{assistantId}`: which user and course an assistant id
 * belongs to, for the voice platform's webhook handler (shared secret), a
 * backend (service-role key) or the owner. Everyone else, and an unknown id,
 * get 404.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createApi } from "../../_shared/http.ts";
import type { AppEnv } from "../context.ts";
import { lookupFor } from "../domain/lookup-access.ts";
import { WEBHOOK_SECRET_HEADER } from "../domain/webhook-secret.ts";
import { AssistantId, errorResponses, LOOKUP_SECURITY } from "./schemas.ts";

/** Path parameters of the lookup. */
export const LookupParams = z.object({
  assistantId: AssistantId.openapi({ param: { name: "assistantId", in: "path" } }),
});

/** What a webhook needs: the user and the course of the assistant. */
export const LookupResponse = z
  .object({ assistantId: z.string(), userId: z.string().uuid(), courseId: z.string() })
  .openapi("AssistantLookup");

const lookupRoute = createRoute({
  method: "get",
  path: "/lookup/{assistantId}",
  summary: "Find the user and course of an assistant id",
  description:
    `Send \`${WEBHOOK_SECRET_HEADER}: <ASSISTANT_WEBHOOK_SECRET>\`, or a secret key (apikey), ` +
    "or the owner's access token. Anything else is answered 404, like an unknown id.",
  security: LOOKUP_SECURITY,
  request: { params: LookupParams },
  responses: {
    200: {
      description: "The mapping",
      content: { "application/json": { schema: LookupResponse } },
    },
    ...errorResponses({ 404: "not_found: unknown id, or the caller may not see it" }),
  },
});

/** The lookup route. */
export const lookupRoutes = createApi<AppEnv>().openapi(lookupRoute, async (c) => {
  const { assistantId } = c.req.valid("param");
  const found = await lookupFor(c.get("deps"), assistantId, {
    webhookSecret: c.req.header(WEBHOOK_SECRET_HEADER),
    request: c.req.raw,
  });
  return c.json(
    { assistantId: found.assistantId, userId: found.userId, courseId: found.courseId },
    200,
  );
});
