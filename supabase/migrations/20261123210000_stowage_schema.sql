-- Stowage, part 1: the schema, its tables and the small helpers everything else uses.
--
-- Everything lives in schema `stowage`: a hosted project forbids creating tables or
-- functions in `storage` and `auth`. Nothing here is granted by default (new tables
-- are not exposed to the API roles on hosted since 2026, and functions lose PUBLIC's
-- EXECUTE below): every grant is explicit.

create schema if not exists stowage;
comment on schema stowage is
  'Stowage: home folders, quotas, upload reservations and assistant mappings for Supabase Storage.';
revoke all on schema stowage from public;
grant usage on schema stowage to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Settings (one row).
-- ---------------------------------------------------------------------------
create table stowage.settings (
  id boolean primary key default true check (id),
  -- The Storage server's signed-upload lifetime (UPLOAD_SIGNED_URL_EXPIRATION_TIME: 7200 s on
  -- hosted and under the CLI). Its token's expiry is checked when the PUT starts...
  upload_url_lifetime_seconds integer not null default 7200 check (upload_url_lifetime_seconds > 0),
  -- ...and the reservation is consumed only after the last byte: it stays live this much longer.
  reservation_grace_seconds integer not null default 3600 check (reservation_grace_seconds >= 0),
  -- Plan of a user without a row in stowage.user_plans.
  default_plan text not null default 'free'
);
comment on table stowage.settings is
  'Reservation lifetime (signed-upload URL lifetime + grace) and the default plan.';
insert into stowage.settings (id) values (true);

-- ---------------------------------------------------------------------------
-- Plans and users' plans.
-- ---------------------------------------------------------------------------
create table stowage.plans (
  id text primary key check (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  quota_bytes bigint not null check (quota_bytes >= 0),
  max_file_bytes bigint check (max_file_bytes > 0)
);
comment on table stowage.plans is
  'Storage plans: total quota per user and an optional per-file cap. More rows are allowed.';
insert into stowage.plans (id, quota_bytes, max_file_bytes) values
  ('free', 524288000, null),   -- 500 MiB
  ('paid', 5368709120, null);  -- 5 GiB

alter table stowage.settings
  add constraint settings_default_plan_fkey foreign key (default_plan) references stowage.plans (id);

create table stowage.user_plans (
  user_id uuid primary key references auth.users (id) on delete cascade,
  plan_id text not null references stowage.plans (id),
  updated_at timestamptz not null default now()
);
comment on table stowage.user_plans is 'A user''s plan; a user without a row is on the default plan.';
create index user_plans_plan_id_idx on stowage.user_plans (plan_id);

-- ---------------------------------------------------------------------------
-- Usage counters, kept by the triggers on storage.objects (attributed by home, never by owner).
-- No foreign key to auth.users: a home may be written (by the service role) before its user
-- exists, and a counter must never block a write. No check on the sign either: drift is what
-- stowage.reconcile() reports and fixes, and it must stay visible.
-- ---------------------------------------------------------------------------
create table stowage.usage (
  user_id uuid primary key,
  bytes bigint not null default 0,
  objects bigint not null default 0,
  updated_at timestamptz not null default now()
);
comment on table stowage.usage is
  'Bytes and objects per user home, kept by triggers on storage.objects. Its row is the per-user lock.';

-- ---------------------------------------------------------------------------
-- Managed buckets and their home templates. `{uid}` is one whole path segment.
-- ---------------------------------------------------------------------------
create table stowage.bucket_homes (
  bucket_id text primary key references storage.buckets (id) on delete cascade,
  home_template text not null check (
    home_template ~ '^([A-Za-z0-9_!.*''() &$=@;:+,-]+/)*\{uid\}/([A-Za-z0-9_!.*''() &$=@;:+,-]+/)*$'
    and home_template !~ '(^|/)\.{1,2}/'
  ),
  -- What comes before and after the user id, precomputed for home_owner().
  home_head text generated always as (split_part(home_template, '{uid}', 1)) stored,
  home_tail text generated always as (split_part(home_template, '{uid}', 2)) stored
);
comment on table stowage.bucket_homes is
  'Buckets managed by Stowage and where a user''s home is in each ({uid} = the user id).';

-- ---------------------------------------------------------------------------
-- Upload reservations: a declared size and type for one exact key, live until live_until.
-- ---------------------------------------------------------------------------
create table stowage.reservations (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  bucket_id text not null references stowage.bucket_homes (bucket_id) on delete cascade,
  name text not null,
  size bigint not null check (size >= 0),
  content_type text not null,
  upsert boolean not null default false,
  created_at timestamptz not null default now(),
  live_until timestamptz not null,
  unique (bucket_id, name)
);
comment on table stowage.reservations is
  'Upload reservations (declared size and type per key), consumed by the upload''s final write.';
create index reservations_user_id_idx on stowage.reservations (user_id, live_until);

-- Nothing in stowage is readable or writable through the API roles except what is granted here
-- and in the assistants migration; RLS is on as a second line.
alter table stowage.settings enable row level security;
alter table stowage.plans enable row level security;
alter table stowage.user_plans enable row level security;
alter table stowage.usage enable row level security;
alter table stowage.bucket_homes enable row level security;
alter table stowage.reservations enable row level security;
grant select on stowage.settings, stowage.plans, stowage.user_plans, stowage.usage,
  stowage.bucket_homes, stowage.reservations to service_role;

-- ---------------------------------------------------------------------------
-- Helpers (private: no grants; called by the security definer functions as their owner).
-- ---------------------------------------------------------------------------

-- Raises a coded refusal: SQLSTATE `p_state`, message "<code>: <text>", DETAIL the JSON numbers.
create function stowage.fail(p_state text, p_code text, p_message text, p_detail jsonb default null)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_detail is null then
    raise exception using errcode = p_state, message = p_code || ': ' || p_message;
  end if;
  raise exception using errcode = p_state, message = p_code || ': ' || p_message,
    detail = p_detail::text;
end
$$;

-- Human-readable size for messages: "512 MiB", "1.5 GiB", "10 bytes".
create function stowage.format_bytes(p_bytes bigint)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when abs(p_bytes) < 1024 then p_bytes::text || ' bytes'
    when abs(p_bytes) < 1048576 then trim_scale(round(p_bytes / 1024.0, 1))::text || ' KiB'
    when abs(p_bytes) < 1073741824 then trim_scale(round(p_bytes / 1048576.0, 1))::text || ' MiB'
    else trim_scale(round(p_bytes / 1073741824.0, 1))::text || ' GiB'
  end
$$;

-- Size of an object row from its metadata (0 when absent or not a non-negative integer).
create function stowage.object_size(p_metadata jsonb)
returns bigint
language sql
immutable
set search_path = ''
as $$
  select case
    when p_metadata ->> 'size' ~ '^[0-9]{1,18}$' then (p_metadata ->> 'size')::bigint
    else 0
  end
$$;

-- Why a home-relative file path is not acceptable, or NULL when it is: the Storage key set
-- (STORAGE_API_FACTS §3), no leading/trailing '/', no empty, '.' or '..' segments.
create function stowage.path_problem(p_path text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when p_path is null or p_path = '' then 'the path is empty'
    when octet_length(p_path) > 900 then 'the path is longer than 900 bytes'
    when p_path !~ '^[A-Za-z0-9_/!.*''() &$=@;:+,?-]+$'
      then 'the path has a character outside the Storage key set'
    when starts_with(p_path, '/') or right(p_path, 1) = '/'
      then 'the path must not start or end with "/"'
    when strpos(p_path, '//') > 0 then 'the path has an empty segment'
    when strpos('/' || p_path || '/', '/./') > 0 or strpos('/' || p_path || '/', '/../') > 0
      then 'the path has a "." or ".." segment'
  end
$$;

-- ---------------------------------------------------------------------------
-- Homes: the one place that parses keys for ownership.
-- ---------------------------------------------------------------------------

-- Whose home `p_name` is in, in bucket `p_bucket_id`; NULL when none (unmanaged bucket, a key
-- outside every home, a non-canonical user id, or the home folder itself). starts_with, never
-- LIKE ('_' in 'user_data/' is a wildcard); only a lowercase canonical UUID segment counts (a
-- ::uuid cast alone would accept upper case, a second prefix for the same user).
create function stowage.home_owner(p_bucket_id text, p_name text)
returns uuid
language sql
stable
security definer
set search_path = ''
as $$
  select case
    when starts_with(p_name, h.home_head)
     and substr(p_name, length(h.home_head) + 1, 36)
         ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
     and starts_with(substr(p_name, length(h.home_head) + 37), h.home_tail)
     and length(p_name) > length(h.home_head) + 36 + length(h.home_tail)
    then substr(p_name, length(h.home_head) + 1, 36)::uuid
  end
  from stowage.bucket_homes h
  where h.bucket_id = p_bucket_id
$$;
comment on function stowage.home_owner(text, text) is
  'The user whose home holds object p_name of bucket p_bucket_id, or NULL.';

-- The key prefix of a user's home in a bucket ('user_data/<uid>/'); NULL when unmanaged.
create function stowage.home_prefix(p_bucket_id text, p_user_id uuid)
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select replace(h.home_template, '{uid}', p_user_id::text)
  from stowage.bucket_homes h
  where h.bucket_id = p_bucket_id
$$;
comment on function stowage.home_prefix(text, uuid) is
  'Key prefix of the user''s home in the bucket, e.g. user_data/<uid>/; NULL if the bucket is unmanaged.';

revoke execute on function stowage.fail(text, text, text, jsonb), stowage.format_bytes(bigint),
  stowage.object_size(jsonb), stowage.path_problem(text), stowage.home_owner(text, text),
  stowage.home_prefix(text, uuid) from public;
grant execute on function stowage.home_owner(text, text), stowage.home_prefix(text, uuid),
  stowage.path_problem(text) to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Who is calling: the API role the caller runs as (the `role` setting survives the switch to
-- a security definer function's owner) and the user it acts for.
-- ---------------------------------------------------------------------------
create function stowage.acting_user(p_user_id uuid)
returns uuid
language plpgsql
stable
set search_path = ''
as $$
declare
  v_role text := coalesce(nullif(current_setting('role', true), ''), 'none');
  v_uid uuid;
begin
  if v_role = 'authenticated' then
    v_uid := auth.uid();
    if v_uid is null then
      perform stowage.fail('SW403', 'forbidden', 'the request carries no user');
    end if;
    if p_user_id is not null and p_user_id <> v_uid then
      perform stowage.fail('SW403', 'forbidden', 'a user may act only for themselves');
    end if;
    return v_uid;
  elsif v_role in ('service_role', 'none') then
    -- 'none': a direct login (postgres, the stack's superuser), never an API request.
    if p_user_id is null then
      perform stowage.fail('SW400', 'invalid_request', 'userId is required with the service role');
    end if;
    return p_user_id;
  end if;
  perform stowage.fail('SW403', 'forbidden', 'role "' || v_role || '" may not do this');
  return null;
end
$$;
comment on function stowage.acting_user(uuid) is
  'The user a call acts for: auth.uid() for authenticated, p_user_id (required) for the service role.';

-- Whether the caller runs as the service role (or a direct login), not as an API user.
create function stowage.is_service_caller()
returns boolean
language sql
stable
set search_path = ''
as $$
  select coalesce(nullif(current_setting('role', true), ''), 'none') in ('service_role', 'none')
$$;

-- PUBLIC's default EXECUTE cannot be taken away per schema: revoke it function by function.
revoke execute on all functions in schema stowage from public;
grant execute on function stowage.home_owner(text, text), stowage.home_prefix(text, uuid),
  stowage.path_problem(text) to authenticated, service_role;
