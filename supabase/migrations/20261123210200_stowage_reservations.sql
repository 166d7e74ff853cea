-- Stowage, part 3: reserve before upload; cancel; quota; plans; reconcile.
--
-- Lock order, everywhere: the user's stowage.usage row (FOR UPDATE) first, then reservations.
-- The BEFORE INSERT trigger on storage.objects takes the same order, or the two deadlock.

-- Locks (creating it if needed) a user's usage row: the per-user quota lock.
create function stowage.lock_usage(p_user_id uuid)
returns stowage.usage
language plpgsql
set search_path = ''
as $$
declare
  v_row stowage.usage;
begin
  insert into stowage.usage (user_id) values (p_user_id) on conflict (user_id) do nothing;
  select * into v_row from stowage.usage u where u.user_id = p_user_id for update;
  return v_row;
end
$$;

-- Bytes held by a user's live reservations: what each would add once uploaded (its size less
-- the object it overwrites, never below 0), except the keys of `p_bucket` listed in `p_except`.
create function stowage.reserved_bytes(p_user_id uuid, p_bucket text default null,
  p_except text[] default '{}')
returns bigint
language sql
stable
set search_path = ''
as $$
  select coalesce(sum(greatest(r.size - coalesce(stowage.object_size(o.metadata), 0), 0)), 0)::bigint
  from stowage.reservations r
  left join storage.objects o on o.bucket_id = r.bucket_id and o.name = r.name
  where r.user_id = p_user_id
    and r.live_until > now()
    and not (r.bucket_id is not distinct from p_bucket and r.name = any (p_except))
$$;

-- The plan row that applies to a user.
create function stowage.plan_of(p_user_id uuid)
returns stowage.plans
language sql
stable
set search_path = ''
as $$
  select p.* from stowage.plans p
  where p.id = coalesce(
    (select up.plan_id from stowage.user_plans up where up.user_id = p_user_id),
    (select s.default_plan from stowage.settings s))
$$;

create function stowage.require_user_exists(p_user_id uuid)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if not exists (select 1 from auth.users u where u.id = p_user_id) then
    perform stowage.fail('SW404', 'not_found', 'user "' || p_user_id || '" does not exist');
  end if;
end
$$;

-- ---------------------------------------------------------------------------
-- reserve: all-or-nothing reservation of 1..100 uploads in one bucket.
-- ---------------------------------------------------------------------------
create function stowage.reserve(p_bucket text, p_files jsonb, p_upsert boolean default false,
  p_user_id uuid default null)
returns table (path text, name text, size bigint, content_type text, expires_at timestamptz,
  reservation_expires_at timestamptz)
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_user uuid := stowage.acting_user(p_user_id);
  v_bucket record;
  v_plan stowage.plans;
  v_settings stowage.settings;
  v_usage stowage.usage;
  v_items jsonb := '[]'::jsonb;
  v_names text[] := '{}';
  v_file jsonb;
  v_n integer;
  v_path text;
  v_name text;
  v_size bigint;
  v_type text;
  v_norm text;
  v_send text;
  v_problem text;
  v_meta jsonb;
  v_found boolean;
  v_charge bigint;
  v_requested bigint := 0;
  v_reserved bigint;
  v_limit bigint;
begin
  if stowage.is_service_caller() then
    perform stowage.require_user_exists(v_user);
  end if;

  select b.id, b.file_size_limit, b.allowed_mime_types,
         replace(h.home_template, '{uid}', v_user::text) as prefix
    into v_bucket
    from storage.buckets b
    join stowage.bucket_homes h on h.bucket_id = b.id
   where b.id = p_bucket;
  if not found then
    perform stowage.fail('SW404', 'not_found', 'bucket "' || coalesce(p_bucket, '') || '" is not a Stowage bucket');
  end if;

  if p_files is null or jsonb_typeof(p_files) <> 'array' or jsonb_array_length(p_files) = 0
     or jsonb_array_length(p_files) > 100 then
    perform stowage.fail('SW400', 'invalid_request', 'files must be a list of 1 to 100 files');
  end if;

  v_plan := stowage.plan_of(v_user);
  select * into v_settings from stowage.settings;

  -- 1. Every file on its own: shape, path, size limits, media type (no locks yet).
  for v_file, v_n in select e.value, e.ordinality from jsonb_array_elements(p_files) with ordinality e loop
    if jsonb_typeof(v_file) <> 'object'
       or jsonb_typeof(v_file -> 'path') is distinct from 'string'
       or jsonb_typeof(v_file -> 'size') is distinct from 'number'
       or (v_file ->> 'size') !~ '^[0-9]{1,18}$'
       or jsonb_typeof(v_file -> 'contentType') is distinct from 'string'
       or btrim(v_file ->> 'contentType') = '' then
      perform stowage.fail('SW400', 'invalid_request',
        'file ' || v_n || ' needs a path, a whole non-negative size and a contentType');
    end if;
    v_path := v_file ->> 'path';
    v_size := (v_file ->> 'size')::bigint;
    v_type := btrim(v_file ->> 'contentType');

    v_problem := stowage.path_problem(v_path);
    if v_problem is not null then
      perform stowage.fail('SW400', 'invalid_path', '"' || v_path || '": ' || v_problem);
    end if;
    v_name := v_bucket.prefix || v_path;
    if octet_length(v_name) > 1024 then
      perform stowage.fail('SW400', 'invalid_path', '"' || v_path || '": the key is longer than 1024 bytes');
    end if;
    if v_name = any (v_names) then
      perform stowage.fail('SW400', 'invalid_request', '"' || v_path || '" is listed twice');
    end if;
    v_names := v_names || v_name;

    v_limit := least(v_bucket.file_size_limit, v_plan.max_file_bytes);
    if v_size > v_limit then
      perform stowage.fail('SW413', 'file_too_large',
        '"' || v_path || '" is ' || stowage.format_bytes(v_size) || ', at most '
          || stowage.format_bytes(v_limit) || ' is allowed',
        jsonb_build_object('size', v_size, 'maxBytes', v_limit));
    end if;

    v_norm := lower(btrim(split_part(v_type, ';', 1)));
    if v_norm !~ '^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$' then
      perform stowage.fail('SW415', 'unsupported_media_type', '"' || v_type || '" is not a media type');
    end if;
    v_send := v_type;
    if coalesce(cardinality(v_bucket.allowed_mime_types), 0) > 0 then
      if not exists (
        select 1 from unnest(v_bucket.allowed_mime_types) a
         where lower(a) = v_norm
            or (right(a, 2) = '/*' and starts_with(v_norm, lower(left(a, -1))))) then
        perform stowage.fail('SW415', 'unsupported_media_type',
          '"' || v_type || '" is not allowed in bucket "' || p_bucket || '"',
          jsonb_build_object('allowed', to_jsonb(v_bucket.allowed_mime_types)));
      end if;
      -- The Storage server compares the sent type literally (STORAGE_API_FACTS §1.10): keep the
      -- caller's spelling when it passes that check, else send the bare lowercase type.
      if not exists (
        select 1 from unnest(v_bucket.allowed_mime_types) a
         where split_part(a, '/', 1) = split_part(v_type, '/', 1)
           and (substr(a, strpos(a, '/') + 1) = '*'
             or substr(a, strpos(a, '/') + 1) = substr(v_type, strpos(v_type, '/') + 1))) then
        v_send := v_norm;
      end if;
    end if;

    v_items := v_items || jsonb_build_object('path', v_path, 'name', v_name, 'size', v_size,
      'content_type', v_send);
  end loop;

  -- 2. The user's lock, then what exists and what is held.
  v_usage := stowage.lock_usage(v_user);

  for v_file in select e.value from jsonb_array_elements(v_items) e loop
    select o.metadata, true into v_meta, v_found
      from storage.objects o
     where o.bucket_id = p_bucket and o.name = v_file ->> 'name';
    if coalesce(v_found, false) and not coalesce(p_upsert, false) then
      perform stowage.fail('SW409', 'already_exists', '"' || (v_file ->> 'path') || '" already exists');
    end if;
    v_charge := greatest((v_file ->> 'size')::bigint
      - case when coalesce(v_found, false) then stowage.object_size(v_meta) else 0 end, 0);
    v_requested := v_requested + v_charge;
    v_found := false;
    v_meta := null;
  end loop;

  delete from stowage.reservations r where r.user_id = v_user and r.live_until <= now();
  v_reserved := stowage.reserved_bytes(v_user, p_bucket, v_names);

  if v_usage.bytes + v_reserved + v_requested > v_plan.quota_bytes then
    perform stowage.fail('SW507', 'quota_exceeded',
      stowage.format_bytes(v_usage.bytes + v_reserved + v_requested) || ' of '
        || stowage.format_bytes(v_plan.quota_bytes),
      jsonb_build_object('quotaBytes', v_plan.quota_bytes, 'usedBytes', v_usage.bytes,
        'reservedBytes', v_reserved, 'requestedBytes', v_requested));
  end if;

  -- 3. Record: a new reservation of a key replaces the previous one (no double counting).
  delete from stowage.reservations r where r.bucket_id = p_bucket and r.name = any (v_names);
  insert into stowage.reservations (user_id, bucket_id, name, size, content_type, upsert, live_until)
  select v_user, p_bucket, x.name, x.size, x.content_type, coalesce(p_upsert, false),
         now() + make_interval(secs => v_settings.upload_url_lifetime_seconds
           + v_settings.reservation_grace_seconds)
    from jsonb_to_recordset(v_items) as x (name text, size bigint, content_type text);

  return query
    select x.path, x.name, x.size, x.content_type,
           now() + make_interval(secs => v_settings.upload_url_lifetime_seconds),
           now() + make_interval(secs => v_settings.upload_url_lifetime_seconds
             + v_settings.reservation_grace_seconds)
      from jsonb_to_recordset(v_items) as x (path text, name text, size bigint, content_type text);
end
$$;
comment on function stowage.reserve(text, jsonb, boolean, uuid) is
  'Reserves quota for 1..100 uploads (all or nothing); returns each key, the content type to send '
  'when the signed upload URL expires, and when the reservation itself lapses (a grace period '
  'later, for the slowest upload).';

-- ---------------------------------------------------------------------------
-- cancel_reservation
-- ---------------------------------------------------------------------------
create function stowage.cancel_reservation(p_bucket text, p_path text, p_user_id uuid default null)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_user uuid := stowage.acting_user(p_user_id);
  v_prefix text := stowage.home_prefix(p_bucket, v_user);
  v_problem text := stowage.path_problem(p_path);
begin
  if v_prefix is null then
    perform stowage.fail('SW404', 'not_found', 'bucket "' || coalesce(p_bucket, '') || '" is not a Stowage bucket');
  end if;
  if v_problem is not null then
    perform stowage.fail('SW400', 'invalid_path', '"' || coalesce(p_path, '') || '": ' || v_problem);
  end if;
  perform stowage.lock_usage(v_user);
  delete from stowage.reservations r
   where r.bucket_id = p_bucket and r.name = v_prefix || p_path
     and r.user_id = v_user and r.live_until > now();
  if not found then
    perform stowage.fail('SW404', 'not_found', 'no upload of "' || p_path || '" is reserved');
  end if;
end
$$;
comment on function stowage.cancel_reservation(text, text, uuid) is
  'Cancels the caller''s live reservation of a home-relative path (SW404 when there is none).';

-- ---------------------------------------------------------------------------
-- quota / usage_of
-- ---------------------------------------------------------------------------
create function stowage.quota(p_user_id uuid default null)
returns table (plan text, quota_bytes bigint, used_bytes bigint, reserved_bytes bigint,
  available_bytes bigint, object_count bigint)
language plpgsql
stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_user uuid := stowage.acting_user(p_user_id);
  v_plan stowage.plans;
  v_bytes bigint;
  v_objects bigint;
  v_reserved bigint;
begin
  if stowage.is_service_caller() then
    perform stowage.require_user_exists(v_user);
  end if;
  v_plan := stowage.plan_of(v_user);
  select u.bytes, u.objects into v_bytes, v_objects from stowage.usage u where u.user_id = v_user;
  v_bytes := coalesce(v_bytes, 0);
  v_objects := coalesce(v_objects, 0);
  v_reserved := stowage.reserved_bytes(v_user);
  return query select v_plan.id, v_plan.quota_bytes, v_bytes, v_reserved,
    greatest(v_plan.quota_bytes - v_bytes - v_reserved, 0), v_objects;
end
$$;
comment on function stowage.quota(uuid) is
  'A user''s plan, quota, used and reserved bytes, what is left, and object count.';

create function stowage.usage_of(p_user_id uuid)
returns table (plan text, quota_bytes bigint, used_bytes bigint, reserved_bytes bigint,
  available_bytes bigint, object_count bigint)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if not stowage.is_service_caller() then
    perform stowage.fail('SW403', 'forbidden', 'only the service role may read another user''s usage');
  end if;
  return query select * from stowage.quota(p_user_id);
end
$$;
comment on function stowage.usage_of(uuid) is 'stowage.quota() of any user, for the service role.';

-- ---------------------------------------------------------------------------
-- set_plan
-- ---------------------------------------------------------------------------
create function stowage.set_plan(p_user_id uuid, p_plan text)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if not stowage.is_service_caller() then
    perform stowage.fail('SW403', 'forbidden', 'only the service role may change plans');
  end if;
  if p_user_id is null or p_plan is null then
    perform stowage.fail('SW400', 'invalid_request', 'userId and plan are required');
  end if;
  if not exists (select 1 from stowage.plans p where p.id = p_plan) then
    perform stowage.fail('SW404', 'not_found', 'plan "' || p_plan || '" does not exist');
  end if;
  perform stowage.require_user_exists(p_user_id);
  insert into stowage.user_plans (user_id, plan_id) values (p_user_id, p_plan)
  on conflict (user_id) do update set plan_id = excluded.plan_id, updated_at = now();
end
$$;
comment on function stowage.set_plan(uuid, text) is 'Puts a user on a plan (service role only).';

-- ---------------------------------------------------------------------------
-- reconcile: recompute counters from storage.objects, drop dead reservations, report drift.
-- One aggregate over storage.objects finds the users whose counters disagree (or who hold
-- expired reservations); only those are recomputed exactly, under their lock, so a write landing
-- between the two steps is never mistaken for drift (105,000 objects: 2.5 s, where recomputing
-- every user one by one took 6 s here and a minute on a loaded machine).
-- ---------------------------------------------------------------------------
create function stowage.reconcile(p_user_id uuid default null)
returns table (user_id uuid, bytes_before bigint, bytes_after bigint, objects_before bigint,
  objects_after bigint, dropped_reservations integer)
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_uid uuid;
  v_before stowage.usage;
  v_bytes bigint;
  v_objects bigint;
  v_dropped integer;
begin
  if not stowage.is_service_caller() then
    perform stowage.fail('SW403', 'forbidden', 'only the service role may reconcile');
  end if;
  for v_uid in
    select p_user_id where p_user_id is not null
    union
    select x.uid from (
      select coalesce(a.uid, u.user_id) as uid
        from (select stowage.home_owner(o.bucket_id, o.name) as uid,
                     sum(stowage.object_size(o.metadata))::bigint as bytes,
                     count(*) as objects
                from storage.objects o
                join stowage.bucket_homes h on h.bucket_id = o.bucket_id
               group by 1) a
        full join stowage.usage u on u.user_id = a.uid
       where coalesce(a.bytes, 0) <> coalesce(u.bytes, 0)
          or coalesce(a.objects, 0) <> coalesce(u.objects, 0)
      union
      select r.user_id from stowage.reservations r where r.live_until <= now()
    ) x
    where p_user_id is null and x.uid is not null
    order by 1
  loop
    -- Under the user's lock, a concurrent write either committed before (and is counted) or
    -- waits, and then applies its own delta on top of the recomputed total.
    v_before := stowage.lock_usage(v_uid);
    delete from stowage.reservations r where r.user_id = v_uid and r.live_until <= now();
    get diagnostics v_dropped = row_count;
    select coalesce(sum(stowage.object_size(o.metadata)), 0)::bigint, count(*)
      into v_bytes, v_objects
      from stowage.bucket_homes h
      join storage.objects o on o.bucket_id = h.bucket_id
       and o.name collate "C" >= replace(h.home_template, '{uid}', v_uid::text) collate "C"
       and o.name collate "C" < (left(replace(h.home_template, '{uid}', v_uid::text), -1) || '0') collate "C"
     where stowage.home_owner(o.bucket_id, o.name) = v_uid;
    if p_user_id is not null or v_dropped > 0 or v_before.bytes <> v_bytes
       or v_before.objects <> v_objects then
      update stowage.usage u set bytes = v_bytes, objects = v_objects, updated_at = now()
       where u.user_id = v_uid;
      user_id := v_uid;
      bytes_before := v_before.bytes;
      bytes_after := v_bytes;
      objects_before := v_before.objects;
      objects_after := v_objects;
      dropped_reservations := v_dropped;
      return next;
    end if;
  end loop;
end
$$;
comment on function stowage.reconcile(uuid) is
  'Recomputes usage from storage.objects (one user or all), drops expired reservations, returns '
  'the drift it fixed (every user with drift, or the one user asked for).';

revoke execute on all functions in schema stowage from public;
grant execute on function stowage.reserve(text, jsonb, boolean, uuid),
  stowage.cancel_reservation(text, text, uuid), stowage.quota(uuid)
  to authenticated, service_role;
grant execute on function stowage.usage_of(uuid), stowage.set_plan(uuid, text),
  stowage.reconcile(uuid) to service_role;
