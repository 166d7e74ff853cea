-- Stowage: the upload path reads by index, whatever its tables held when it was first planned
-- (issue 19).
--
-- PL/pgSQL plans each statement once per connection and keeps the plan until the tables it reads
-- are analyzed again. The reservations table is empty most of the time (a reservation lives for
-- one upload), and autovacuum leaves an emptied table with no pages and a row count of 0: a
-- connection that first reserves or uploads then plans every lookup there as a sequential scan,
-- which costs nothing on an empty table. When a burst of uploads follows, every reservation,
-- permission test and landing upload of every user reads all live reservations, until
-- autovacuum analyzes the table again (its next round, up to a minute later by default). In the
-- benchmark's 50 concurrent users that was 4 scans and ~2,200 rows read per upload; with
-- 100,000 live reservations, each upload would read them all.
--
-- Every statement of these functions is a lookup by a key or by the user's index, so they are
-- planned without sequential scans, as on a table of any size. A statement left with no other
-- path (the one-row settings) is still planned, at a cost of 1e10, which would hand it to the
-- JIT compiler: these functions run without JIT (pgTAP checks the two go together). Reconcile
-- and the purge, which read whole tables on purpose, keep the planner's choice.
--
-- Turning sequential scans off is not enough where a statement has two index paths: on an
-- empty table every path costs the same, and reserve()'s
--   delete from stowage.reservations r where r.bucket_id = p_bucket and r.name = any (v_names)
-- (a new reservation of a key replaced the previous one) was planned as a scan of the bucket's
-- whole index, filtered by name: the generic plan of `= any (array)` is costed for ten keys, ten
-- index descents, against one. reserve() now records its reservations with one insert ... on
-- conflict (bucket_id, name) do update, which finds a held key through the unique index itself,
-- whatever the planner would choose; the rest of its body is that of
-- 20261202600000_stowage_reserve_fast.sql, with the same rules and the same answers.
--
-- lock_usage() also reads the usage row first and inserts it only when it is missing: the
-- insert-or-nothing ran on every call (twice per upload: reserving and landing) to find the row
-- it then read anyway.
alter function stowage.cancel_reservation(text, text, uuid) set enable_seqscan = off;
alter function stowage.cancel_reservation(text, text, uuid) set jit = off;
alter function stowage.plan_of(uuid) set enable_seqscan = off;
alter function stowage.plan_of(uuid) set jit = off;
alter function stowage.quota(uuid) set enable_seqscan = off;
alter function stowage.quota(uuid) set jit = off;
alter function stowage.land_write(text, text, jsonb, boolean, bigint, boolean) set enable_seqscan = off;
alter function stowage.land_write(text, text, jsonb, boolean, bigint, boolean) set jit = off;
alter function stowage.objects_before_check() set enable_seqscan = off;
alter function stowage.objects_before_check() set jit = off;
alter function stowage.objects_before_overwrite() set enable_seqscan = off;
alter function stowage.objects_before_overwrite() set jit = off;

create or replace function stowage.lock_usage(p_user_id uuid)
returns stowage.usage
language plpgsql
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_row stowage.usage;
begin
  select * into v_row from stowage.usage u where u.user_id = p_user_id for update;
  if not found then
    -- A user's first write: create the row (a concurrent first write may create it first).
    insert into stowage.usage (user_id) values (p_user_id) on conflict (user_id) do nothing;
    select * into v_row from stowage.usage u where u.user_id = p_user_id for update;
  end if;
  return v_row;
end
$$;

create or replace function stowage.reserve(p_bucket text, p_files jsonb, p_upsert boolean default false,
  p_user_id uuid default null)
returns table (path text, name text, size bigint, content_type text, expires_at timestamptz,
  reservation_expires_at timestamptz)
language plpgsql
volatile
security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set jit = off
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
  v_declared numeric;
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

  -- The cap on live reservations (a new reservation of a held key replaces it), and in the same
  -- scan the bytes those reservations declare: at least what they hold (see the header).
  select count(*), coalesce(sum(r.size), 0) into v_held, v_declared from stowage.reservations r
   where r.user_id = v_user and r.live_until > now()
     and not (r.bucket_id = p_bucket and r.name = any (v_names));
  if v_held + cardinality(v_names) > v_settings.max_live_reservations then
    perform stowage.fail('SW429', 'too_many_reservations',
      'you hold ' || v_held || ' upload reservations; at most '
        || v_settings.max_live_reservations || ' may be live at once: finish or cancel some first',
      jsonb_build_object('live', v_held, 'requested', cardinality(v_names),
        'maxLiveReservations', v_settings.max_live_reservations));
  end if;

  -- The exact figure joins every live reservation to its object: only when the bound is over.
  v_reserved := case when v_usage.bytes + v_declared + v_requested > v_plan.quota_bytes
                     then stowage.reserved_bytes(v_user, p_bucket, v_names) end;

  if v_reserved is not null and v_usage.bytes + v_reserved + v_requested > v_plan.quota_bytes then
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

  -- 3. Record: a new reservation of a key replaces the previous one (no double counting), found
  -- by the key's unique index itself.
  insert into stowage.reservations as r (user_id, bucket_id, name, size, content_type, upsert,
    live_until)
  select v_user, p_bucket, x.name, x.size, x.content_type, coalesce(p_upsert, false),
         now() + make_interval(secs => v_settings.upload_url_lifetime_seconds
           + v_settings.reservation_grace_seconds)
    from jsonb_to_recordset(v_items) as x (name text, size bigint, content_type text)
  on conflict (bucket_id, name) do update
    set user_id = excluded.user_id, size = excluded.size, content_type = excluded.content_type,
        upsert = excluded.upsert, created_at = now(), live_until = excluded.live_until;

  return query
    select x.path, x.name, x.size, x.content_type,
           now() + make_interval(secs => v_settings.upload_url_lifetime_seconds),
           now() + make_interval(secs => v_settings.upload_url_lifetime_seconds
             + v_settings.reservation_grace_seconds)
      from jsonb_to_recordset(v_items) as x (path text, name text, size bigint, content_type text);
end
$$;
