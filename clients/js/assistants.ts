/**
 * @module The assistants function's calls: the caller's one assistant, the
 * reverse lookup by assistant id, and the last position in a course.
 */
import { call, type Transport } from "./http.ts";
import type { Assistant, AssistantLookup, Position, SetAssistantRequest } from "./types.ts";

/** The assistants API (`stowage.assistants`). */
export interface AssistantsClient {
  /**
   * The caller's assistant (`GET /me`); a backend holding the service key names the user.
   * @throws StowageError not_found when none is set
   */
  get(options?: { userId?: string }): Promise<Assistant>;
  /**
   * Records a user's one assistant, replacing any previous one (`PUT /me`). Mappings are
   * written by the app's backend: a client built with the service key sends `userId`.
   * A signed-in user may only change the course of the id they hold, or claim a free id
   * when the project allows it (`stowage.settings.users_claim_assistants`).
   * @example await backend.assistants.set({ assistantId, courseId, userId }) // service key
   * @throws StowageError forbidden (403, a user: the same whether the id is free or taken),
   * assistant_taken (409, service key only: another user owns the id)
   */
  set(body: SetAssistantRequest): Promise<Assistant>;
  /** Removes the caller's (or, with the service key, `userId`'s) assistant (`DELETE /me`). */
  remove(options?: { userId?: string }): Promise<void>;
  /**
   * Who owns an assistant id (`GET /lookup/:id`): the owner, the service role
   * or a webhook with the secret may ask; anyone else gets not_found.
   */
  lookup(assistantId: string): Promise<AssistantLookup>;
  /** The last position in a course, 0 when none (`GET /positions/:courseId`). */
  getPosition(courseId: string): Promise<Position>;
  /** Saves the last position in a course (`PUT /positions/:courseId`). */
  setPosition(courseId: string, lastPosition: number): Promise<Position>;
}

const FN = "assistants";

/** Builds the assistants API over a transport. */
export function assistantsClient(t: Transport): AssistantsClient {
  const seg = encodeURIComponent;
  return {
    get: (options) =>
      call<Assistant>(t, FN, { method: "GET", path: "/me", query: { userId: options?.userId } }),
    set: (body) => call<Assistant>(t, FN, { method: "PUT", path: "/me", body }),
    remove: (options) =>
      call<void>(t, FN, { method: "DELETE", path: "/me", query: { userId: options?.userId } }),
    lookup: (id) => call<AssistantLookup>(t, FN, { method: "GET", path: `/lookup/${seg(id)}` }),
    getPosition: (courseId) =>
      call<Position>(t, FN, { method: "GET", path: `/positions/${seg(courseId)}` }),
    setPosition: (courseId, lastPosition) =>
      call<Position>(t, FN, {
        method: "PUT",
        path: `/positions/${seg(courseId)}`,
        body: { lastPosition },
      }),
  };
}
