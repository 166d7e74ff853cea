-- Stowage: the quota, the bucket limits and the path rules hold against every writer, in one
-- lock order (issue 13).
--
-- Every Storage API call a user's token allows ends in a statement on storage.objects, and the
-- triggers see them all: the upload's final write (service_role, after an advisory lock on the
-- key and `SELECT ... FOR UPDATE` of the row, STORAGE_API_FACTS §1.1), a copy's (the same
-- write), a move's UPDATE (its permission test as the caller, then service_role), a bulk delete
-- (as the caller). So the rules live here:
--
--  * The quota is checked when a write adds bytes, under the user's usage lock: at no moment do
--    the bytes stored in a user's homes exceed the plan. Only the service role writing directly
--    (no owner, not a signed upload: the migration CLI, an admin) is not held to it. A
--    reservation reserves room, but the room is taken when the bytes land, not before: an
--    overwrite reserved at "0 more bytes" whose old file was moved away meanwhile is refused.
--  * A move into another bucket, or a rename, obeys the destination's allowed_mime_types,
--    file_size_limit, the plan's max_file_bytes and the upload path rules (copies already need a
--    reservation of their destination, which holds them to the same rules).
--  * One lock order for every writer: (advisory lock on the key, taken by the Storage server)
--    -> object rows (or the key's slot in the unique index, for a new key) -> the user's
--    stowage.usage row(s), in user-id order -> that user's reservations. The quota work moves
--    from BEFORE to AFTER row triggers, which run when the row is already held, and the
--    statement-level BEFORE DELETE that took the usage row first is dropped. reserve(),
--    cancel_reservation(), reconcile() and the purge functions take the usage row and never an
--    object row lock afterwards (they only read storage.objects), so they fit the same order.
--  * A cap on live reservations per user (settings.max_live_reservations) and, optionally per
--    plan, on the number of files (plans.max_objects).
--
-- Refusals in the triggers are SQLSTATE 42501 with a coded message (`quota_exceeded: ...`): the
-- Storage server passes a 42501's text to the client (HTTP 400, statusCode "403").

-- ---------------------------------------------------------------------------
-- Settings and plans.
-- ---------------------------------------------------------------------------
alter table stowage.settings
  add column max_live_reservations integer not null default 1000
    check (max_live_reservations > 0);
comment on column stowage.settings.max_live_reservations is
  'Most live upload reservations one user may hold at once (stowage.reserve refuses more, '
  'SQLSTATE SW429 too_many_reservations).';

alter table stowage.plans
  add column max_objects bigint check (max_objects > 0);
comment on column stowage.plans.max_objects is
  'Most files a user on this plan may hold in their homes (NULL: no cap). Files of 0 bytes cost '
  'no quota; this bounds them.';

-- ---------------------------------------------------------------------------
-- Lock order: no statement-level BEFORE DELETE taking the usage row before the object rows.
-- ---------------------------------------------------------------------------
drop trigger if exists stowage_objects_before_delete on storage.objects;
drop function if exists stowage.objects_before_delete();

-- Whether the current statement is the service role (or a direct login) writing on its own: no
-- owner on the row, not a signed upload. Everyone else is held to reservations and the plan.
create or replace function stowage.is_trusted_writer(p_owner_id text)
returns boolean
language sql
stable
set search_path = ''
as $$
  select p_owner_id is null
     and coalesce(nullif(current_setting('role', true), ''), 'none') in ('service_role', 'none')
     and coalesce(current_setting('storage.operation', true), '') <> 'storage.object.upload_signed'
     and coalesce(current_setting('storage.operation', true), '') not like 'storage.tus.upload.%\_signed'
$$;
comment on function stowage.is_trusted_writer(text) is
  'True for the service role (or a direct login) writing without an owner and not through a '
  'signed upload: the one writer not held to reservations and plans.';

-- ---------------------------------------------------------------------------
-- BEFORE INSERT: takes no lock (the key's slot is not held yet). It only marks the key, so the
-- update half of an upsert is known as such (BEFORE/AFTER UPDATE).
-- ---------------------------------------------------------------------------
create or replace function stowage.objects_before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if stowage.home_owner(new.bucket_id, new.name) is not null then
    perform set_config('stowage.inserting', new.bucket_id || '/' || new.name, true);
    -- Who writes is judged on the proposed row: an upsert by the service key keeps the
    -- existing row's owner_id on the update half.
    perform set_config('stowage.inserting_trusted',
      case when stowage.is_trusted_writer(new.owner_id) then 'on' else 'off' end, true);
  end if;
  return new;
end
$$;

-- ---------------------------------------------------------------------------
-- A write that lands bytes at a key of a home (an insert, or the update half of an upsert), in
-- an AFTER trigger: the row is held, so the usage row is taken now, then the reservation.
-- ---------------------------------------------------------------------------
create or replace function stowage.land_write(p_bucket_id text, p_name text, p_metadata jsonb,
  p_trusted boolean, p_old_size bigint, p_created boolean)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_owner uuid := stowage.home_owner(p_bucket_id, p_name);
  v_size bigint := stowage.object_size(p_metadata);
  v_delta bigint := stowage.object_size(p_metadata) - p_old_size;
  v_usage stowage.usage;
  v_res stowage.reservations;
  v_plan stowage.plans;
  v_sent text;
begin
  v_usage := stowage.lock_usage(v_owner);

  -- The Storage server's permission test carries no size (RLS already required the
  -- reservation): counted like any write (it is rolled back), never judged.
  if p_metadata is not null and p_metadata ? 'size' then
    select * into v_res from stowage.reservations r
     where r.bucket_id = p_bucket_id and r.name = p_name
       and r.user_id = v_owner and r.live_until > now()
       for update;
    if found then
      -- Held to its declared size and type, then consumed. A refusal leaves it open, so the
      -- client can retry with the same token.
      if v_size > v_res.size then
        raise exception using errcode = '42501',
          message = 'upload_too_large: ' || v_size || ' bytes > declared ' || v_res.size;
      end if;
      v_sent := coalesce(p_metadata ->> 'mimetype', '');
      if lower(btrim(split_part(v_sent, ';', 1)))
         <> lower(btrim(split_part(v_res.content_type, ';', 1))) then
        raise exception using errcode = '42501',
          message = 'unsupported_media_type: "' || v_sent || '" sent, "' || v_res.content_type
            || '" declared';
      end if;
      -- The room was reserved, but it is taken only now: the bytes stored never exceed the plan
      -- (an overwrite reserved at 0 more bytes whose old file was moved away adds them all).
      v_plan := stowage.plan_of(v_owner);
      if v_delta > 0 and v_usage.bytes + v_delta > v_plan.quota_bytes then
        raise exception using errcode = '42501',
          message = 'quota_exceeded: "' || substr(p_name, length(stowage.home_prefix(p_bucket_id, v_owner)) + 1)
            || '" would bring your files to ' || stowage.format_bytes(v_usage.bytes + v_delta)
            || ' of ' || stowage.format_bytes(v_plan.quota_bytes);
      end if;
      if p_created and v_plan.max_objects is not null and v_usage.objects + 1 > v_plan.max_objects then
        raise exception using errcode = '42501',
          message = 'quota_exceeded: your plan allows at most ' || v_plan.max_objects || ' files';
      end if;
      delete from stowage.reservations r where r.id = v_res.id;
    elsif not p_trusted then
      -- A user's upload (owner set), any signed upload (a replayed token, a URL a backend signed
      -- with the service key) or a write made as an API user, without reservation.
      raise exception using errcode = '42501',
        message = 'no_reservation: no live upload reservation for "' || p_name || '"';
    end if;
    -- Else the service role writing directly (the migration CLI, an admin): allowed, counted.
  end if;

  update stowage.usage u
     set bytes = u.bytes + v_delta, objects = u.objects + case when p_created then 1 else 0 end,
         updated_at = now()
   where u.user_id = v_owner;
end
$$;
comment on function stowage.land_write(text, text, jsonb, boolean, bigint, boolean) is
  'Judges and counts a write landing at a home key (AFTER trigger): reservation, declared size '
  'and type, the plan''s quota and file count, then the counters; in lock order.';

create or replace function stowage.objects_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if stowage.home_owner(new.bucket_id, new.name) is not null then
    perform set_config('stowage.inserting', '', true);
    perform stowage.land_write(new.bucket_id, new.name, new.metadata,
      stowage.is_trusted_writer(new.owner_id), 0, true);
  end if;
  return null;
end
$$;

-- ---------------------------------------------------------------------------
-- Moves: the destination's rules, for every writer but a direct login.
-- ---------------------------------------------------------------------------

-- Why an object may not be moved to (p_bucket_id, p_name) in p_owner's home, or NULL: the path
-- rules of an upload; and, arriving from another bucket (or from outside a home), the bucket's
-- types and size limit and the plan's per-file cap. A coded message (`invalid_path: ...`).
create or replace function stowage.move_problem(p_bucket_id text, p_name text, p_metadata jsonb,
  p_owner uuid, p_from_elsewhere boolean)
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_path text := substr(p_name, length(stowage.home_prefix(p_bucket_id, p_owner)) + 1);
  v_problem text := stowage.path_problem(v_path);
  v_bucket record;
  v_limit bigint;
  v_size bigint := stowage.object_size(p_metadata);
  v_type text := lower(btrim(split_part(coalesce(p_metadata ->> 'mimetype', ''), ';', 1)));
begin
  if v_problem is not null then
    return 'invalid_path: "' || v_path || '": ' || v_problem;
  end if;
  if octet_length(p_name) > 1024 then
    return 'invalid_path: "' || v_path || '": the key is longer than 1024 bytes';
  end if;
  if not p_from_elsewhere then
    return null;
  end if;
  select b.file_size_limit, b.allowed_mime_types into v_bucket
    from storage.buckets b where b.id = p_bucket_id;
  v_limit := least(v_bucket.file_size_limit, (stowage.plan_of(p_owner)).max_file_bytes);
  if v_size > v_limit then
    return 'file_too_large: "' || v_path || '" is ' || stowage.format_bytes(v_size) || ', at most '
      || stowage.format_bytes(v_limit) || ' is allowed';
  end if;
  if coalesce(cardinality(v_bucket.allowed_mime_types), 0) > 0 and not exists (
    select 1 from unnest(v_bucket.allowed_mime_types) a
     where lower(a) = v_type
        or (right(a, 2) = '/*' and starts_with(v_type, lower(left(a, -1))))) then
    return 'unsupported_media_type: "' || coalesce(p_metadata ->> 'mimetype', '') || '" is not allowed in bucket "'
      || p_bucket_id || '"';
  end if;
  return null;
end
$$;
comment on function stowage.move_problem(text, text, jsonb, uuid, boolean) is
  'Why a move to this home key is refused (coded message), or NULL.';

-- BEFORE UPDATE: the update half of an upsert passes (judged in AFTER UPDATE); a move is held
-- to the destination's rules (its permission test, as the caller, refuses it before any byte is
-- copied; the final write, as service_role, again); API users may not edit sizes.
create or replace function stowage.objects_before_update()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := coalesce(nullif(current_setting('role', true), ''), 'none');
  v_old uuid := stowage.home_owner(old.bucket_id, old.name);
  v_new uuid := stowage.home_owner(new.bucket_id, new.name);
  v_problem text;
begin
  if v_old is null and v_new is null then
    return new;
  end if;
  if current_setting('stowage.inserting', true) = old.bucket_id || '/' || old.name then
    return new;  -- the update half of an upsert
  end if;
  if new.bucket_id is distinct from old.bucket_id or new.name is distinct from old.name then
    -- A move: RLS keeps a user's inside their home; the destination's rules apply to all but a
    -- direct login (an operator's own SQL).
    if v_new is not null and v_role <> 'none' then
      v_problem := stowage.move_problem(new.bucket_id, new.name, new.metadata, v_new,
        new.bucket_id is distinct from old.bucket_id or v_old is distinct from v_new);
      if v_problem is not null then
        raise exception using errcode = '42501', message = v_problem;
      end if;
    end if;
    return new;
  end if;
  if v_role in ('authenticated', 'anon')
     and stowage.object_size(new.metadata) <> stowage.object_size(old.metadata) then
    raise exception using errcode = '42501',
      message = 'forbidden: the size of "' || old.name || '" can change only by an upload';
  end if;
  return new;
end
$$;

-- AFTER UPDATE: the update half of an upsert is a write landing (judged and counted); anything
-- else shifts the counters (a move from the old home to the new one, in user-id order).
create or replace function stowage.objects_after_update()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_old uuid := stowage.home_owner(old.bucket_id, old.name);
  v_new uuid := stowage.home_owner(new.bucket_id, new.name);
  v_old_size bigint := stowage.object_size(old.metadata);
  v_new_size bigint := stowage.object_size(new.metadata);
begin
  if v_new is not null and old.bucket_id = new.bucket_id and old.name = new.name
     and current_setting('stowage.inserting', true) = new.bucket_id || '/' || new.name then
    perform set_config('stowage.inserting', '', true);
    perform stowage.land_write(new.bucket_id, new.name, new.metadata,
      current_setting('stowage.inserting_trusted', true) = 'on', v_old_size, false);
    return null;
  end if;
  if v_old is not distinct from v_new then
    if v_new is not null and v_new_size <> v_old_size then
      perform stowage.add_usage(v_new, v_new_size - v_old_size, 0);
    end if;
    return null;
  end if;
  -- Two homes (the service role only): lock in user-id order, as every multi-user path does.
  if v_old is not null and (v_new is null or v_old < v_new) then
    perform stowage.add_usage(v_old, -v_old_size, -1);
    if v_new is not null then
      perform stowage.add_usage(v_new, v_new_size, 1);
    end if;
  else
    perform stowage.add_usage(v_new, v_new_size, 1);
    if v_old is not null then
      perform stowage.add_usage(v_old, -v_old_size, -1);
    end if;
  end if;
  return null;
end
$$;

-- ---------------------------------------------------------------------------
-- reserve: the reservation cap and the plan's file cap (else as before).
-- ---------------------------------------------------------------------------
create or replace function stowage.reserve(p_bucket text, p_files jsonb, p_upsert boolean default false,
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
  v_new_files bigint := 0;
  v_held integer;
  v_pending bigint;
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
    if not coalesce(v_found, false) then
      v_new_files := v_new_files + 1;
    end if;
    v_found := false;
    v_meta := null;
  end loop;

  delete from stowage.reservations r where r.user_id = v_user and r.live_until <= now();

  -- The cap on live reservations (a new reservation of a held key replaces it).
  select count(*) into v_held from stowage.reservations r
   where r.user_id = v_user and r.live_until > now()
     and not (r.bucket_id = p_bucket and r.name = any (v_names));
  if v_held + cardinality(v_names) > v_settings.max_live_reservations then
    perform stowage.fail('SW429', 'too_many_reservations',
      'you hold ' || v_held || ' upload reservations; at most '
        || v_settings.max_live_reservations || ' may be live at once: finish or cancel some first',
      jsonb_build_object('live', v_held, 'requested', cardinality(v_names),
        'maxLiveReservations', v_settings.max_live_reservations));
  end if;

  v_reserved := stowage.reserved_bytes(v_user, p_bucket, v_names);

  if v_usage.bytes + v_reserved + v_requested > v_plan.quota_bytes then
    perform stowage.fail('SW507', 'quota_exceeded',
      stowage.format_bytes(v_usage.bytes + v_reserved + v_requested) || ' of '
        || stowage.format_bytes(v_plan.quota_bytes),
      jsonb_build_object('quotaBytes', v_plan.quota_bytes, 'usedBytes', v_usage.bytes,
        'reservedBytes', v_reserved, 'requestedBytes', v_requested));
  end if;

  -- The plan's file cap: files held, plus the other live reservations of new keys, plus these.
  if v_plan.max_objects is not null and v_new_files > 0 then
    select count(*) into v_pending from stowage.reservations r
     where r.user_id = v_user and r.live_until > now()
       and not (r.bucket_id = p_bucket and r.name = any (v_names))
       and not exists (select 1 from storage.objects o
                        where o.bucket_id = r.bucket_id and o.name = r.name);
    if v_usage.objects + v_pending + v_new_files > v_plan.max_objects then
      perform stowage.fail('SW507', 'quota_exceeded',
        (v_usage.objects + v_pending + v_new_files) || ' files of at most ' || v_plan.max_objects,
        jsonb_build_object('maxObjects', v_plan.max_objects, 'objects', v_usage.objects,
          'reservedObjects', v_pending, 'requestedObjects', v_new_files));
    end if;
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

-- PUBLIC's default EXECUTE, function by function (only this migration's).
revoke execute on function stowage.is_trusted_writer(text),
  stowage.land_write(text, text, jsonb, boolean, bigint, boolean),
  stowage.move_problem(text, text, jsonb, uuid, boolean) from public;
