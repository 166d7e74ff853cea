/**
 * @module The assistants function's calls: the caller's one assistant, the
 * reverse lookup by assistant id, and the last position in a course.
 */
import { call, type Transport } from "./http.ts";
import type { Assistant, AssistantLookup, Position, SetAssistantRequest } from "./types.ts";

/** The assistants API (`stowage.assistants`). */
export interface AssistantsClient {
  /**
   * The caller's assistant (`GET /me`).
   * @throws StowageError not_found when none is set
   */
  get(): Promise<Assistant>;
  /**
   * Sets the caller's one assistant, replacing any previous one (`PUT /me`).
   * @throws StowageError assistant_taken (409) when another user owns the id
   */
  set(body: SetAssistantRequest): Promise<Assistant>;
  /** Removes the caller's assistant (`DELETE /me`); not_found when none. */
  remove(): Promise<void>;
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
    get: () => call<Assistant>(t, FN, { method: "GET", path: "/me" }),
    set: (body) => call<Assistant>(t, FN, { method: "PUT", path: "/me", body }),
    remove: () => call<void>(t, FN, { method: "DELETE", path: "/me" }),
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
