/**
 * @module The user object as GoTrue serialises it (`models.User` JSON): empty
 * optional fields left out, `email`/`phone` as strings, identities listed.
 */
import type { IdentityRow, UserRow } from "./store.ts";

function iso(date: Date | null | undefined): string | undefined {
  return date ? date.toISOString() : undefined;
}

/** Drops undefined values so they are left out of the JSON, as Go's `omitempty` does. */
function compact(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

/** An identity as GoTrue returns it (`identity_id` is the row id, `id` the provider's id). */
export function identityJson(identity: IdentityRow): Record<string, unknown> {
  return compact({
    identity_id: identity.id,
    id: identity.provider_id,
    user_id: identity.user_id,
    identity_data: identity.identity_data,
    provider: identity.provider,
    last_sign_in_at: iso(identity.last_sign_in_at),
    created_at: iso(identity.created_at) ?? "0001-01-01T00:00:00Z",
    updated_at: iso(identity.updated_at) ?? "0001-01-01T00:00:00Z",
    email: identity.email || undefined,
  });
}

/** A user as GoTrue returns it from /signup, /token and /user. */
export function userJson(user: UserRow, identities: IdentityRow[]): Record<string, unknown> {
  return compact({
    id: user.id,
    aud: user.aud ?? "",
    role: user.role ?? "",
    email: user.email ?? "",
    email_confirmed_at: iso(user.email_confirmed_at),
    invited_at: iso(user.invited_at),
    phone: user.phone ?? "",
    phone_confirmed_at: iso(user.phone_confirmed_at),
    confirmation_sent_at: iso(user.confirmation_sent_at),
    confirmed_at: iso(user.confirmed_at),
    recovery_sent_at: iso(user.recovery_sent_at),
    new_email: user.email_change || undefined,
    email_change_sent_at: iso(user.email_change_sent_at),
    new_phone: user.phone_change || undefined,
    phone_change_sent_at: iso(user.phone_change_sent_at),
    reauthentication_sent_at: iso(user.reauthentication_sent_at),
    last_sign_in_at: iso(user.last_sign_in_at),
    app_metadata: user.raw_app_meta_data ?? {},
    user_metadata: user.raw_user_meta_data ?? {},
    identities: identities.map(identityJson),
    created_at: iso(user.created_at) ?? "0001-01-01T00:00:00Z",
    updated_at: iso(user.updated_at) ?? "0001-01-01T00:00:00Z",
    banned_until: iso(user.banned_until),
    deleted_at: iso(user.deleted_at),
    is_anonymous: user.is_anonymous,
  });
}
