-- The `storage` schema exactly as supabase/storage v1.70.6's 64 tenant migrations leave it
-- (STORAGE_API_FACTS.md §4.3, §4.4; fixtures/storage-v1.70.6.json, checked by
-- stack/baseline-schema.test.ts): the migration rows, tables, constraints, indexes, helper and
-- listing functions, triggers, RLS switched on, grants. The real server started on this schema
-- finds every migration applied and runs none. One hosted restriction is kept on top (the
-- revoke on storage.migrations, at the end).
-- Applied by supabase_admin with psql before any migration. Everything is created as
-- supabase_storage_admin, which owns it on a hosted project; the schema itself belongs to
-- supabase_admin (00_roles.sql). Function bodies are our own, written to behave as the
-- recorded server does (skip-scan listing, case-insensitive v1 prefix, byte order, 1500 cap).
set role supabase_storage_admin;

create type storage.buckettype as enum ('STANDARD', 'ANALYTICS', 'VECTOR');

-- ---------------------------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------------------------
create table storage.migrations (
  id integer primary key,
  name varchar(100) not null unique,
  hash varchar(40) not null,
  executed_at timestamp default current_timestamp
);

create table storage.buckets (
  id text primary key,
  name text not null,
  owner uuid,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  public boolean default false,
  avif_autodetection boolean default false,
  file_size_limit bigint,
  allowed_mime_types text[],
  owner_id text,
  type storage.buckettype not null default 'STANDARD',
  versioning_status text not null default 'DISABLED',
  -- Object versioning is "dark" in v1.70.6: the states exist, only DISABLED is allowed.
  constraint buckets_versioning_status_check
    check (versioning_status in ('DISABLED', 'ENABLED', 'SUSPENDED')),
  constraint buckets_versioning_standard_only_check
    check (type = 'STANDARD' or versioning_status = 'DISABLED'),
  constraint buckets_versioning_dark_check check (versioning_status = 'DISABLED')
);
create unique index bname on storage.buckets using btree (name);
comment on column storage.buckets.owner is 'Field is deprecated, use owner_id instead';

create table storage.objects (
  id uuid primary key default gen_random_uuid(),
  bucket_id text constraint "objects_bucketId_fkey" references storage.buckets (id),
  name text,
  owner uuid,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  last_accessed_at timestamptz default now(),
  metadata jsonb,
  path_tokens text[] generated always as (string_to_array(name, '/')) stored,
  version text,
  owner_id text,
  user_metadata jsonb,
  archived_at timestamptz,
  is_delete_marker boolean not null default false,
  is_versioned boolean not null default false
);
create unique index bucketid_objname on storage.objects using btree (bucket_id, name);
create index idx_objects_bucket_id_name on storage.objects (bucket_id, name collate "C");
create index idx_objects_bucket_id_name_lower on storage.objects (bucket_id, lower(name) collate "C");
create index name_prefix_search on storage.objects using btree (name text_pattern_ops);
comment on column storage.objects.owner is 'Field is deprecated, use owner_id instead';

create table storage.s3_multipart_uploads (
  id text primary key,
  in_progress_size bigint not null default 0,
  upload_signature text not null,
  bucket_id text not null references storage.buckets (id),
  key text collate "C" not null,
  version text not null,
  owner_id text,
  created_at timestamptz not null default now(),
  user_metadata jsonb,
  metadata jsonb
);
create index idx_multipart_uploads_list
  on storage.s3_multipart_uploads (bucket_id, key, created_at);

create table storage.s3_multipart_uploads_parts (
  id uuid primary key default gen_random_uuid(),
  upload_id text not null references storage.s3_multipart_uploads (id) on delete cascade,
  size bigint not null default 0,
  part_number integer not null,
  bucket_id text not null references storage.buckets (id),
  key text collate "C" not null,
  etag text not null,
  owner_id text,
  version text not null,
  created_at timestamptz not null default now()
);

-- Analytics (Iceberg) buckets: addressed by a uuid; a name is unique among the live ones.
create table storage.buckets_analytics (
  name text not null,
  type storage.buckettype not null default 'ANALYTICS',
  format text not null default 'ICEBERG',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  id uuid primary key default gen_random_uuid(),
  deleted_at timestamptz
);
create unique index buckets_analytics_unique_name_idx
  on storage.buckets_analytics (name) where deleted_at is null;

create table storage.iceberg_namespaces (
  id uuid primary key default gen_random_uuid(),
  bucket_name text not null,
  name text collate "C" not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  metadata jsonb not null default '{}',
  catalog_id uuid not null
    references storage.buckets_analytics (id) on delete cascade
);
create unique index idx_iceberg_namespaces_bucket_id
  on storage.iceberg_namespaces (catalog_id, name);

create table storage.iceberg_tables (
  id uuid primary key default gen_random_uuid(),
  namespace_id uuid not null references storage.iceberg_namespaces (id) on delete cascade,
  bucket_name text not null,
  name text collate "C" not null,
  location text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  remote_table_id text,
  shard_key text,
  shard_id text,
  catalog_id uuid not null
    references storage.buckets_analytics (id) on delete cascade
);
create unique index idx_iceberg_tables_namespace_id
  on storage.iceberg_tables (catalog_id, namespace_id, name);
create unique index idx_iceberg_tables_location on storage.iceberg_tables (location);

-- Vector buckets and their indexes.
create table storage.buckets_vectors (
  id text primary key,
  type storage.buckettype not null default 'VECTOR',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table storage.vector_indexes (
  id text primary key default gen_random_uuid(),
  name text collate "C" not null,
  bucket_id text not null references storage.buckets_vectors (id),
  data_type text not null,
  dimension integer not null,
  distance_metric text not null,
  metadata_configuration jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index vector_indexes_name_bucket_id_idx on storage.vector_indexes (name, bucket_id);

alter table storage.migrations enable row level security;
alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;
alter table storage.s3_multipart_uploads enable row level security;
alter table storage.s3_multipart_uploads_parts enable row level security;
alter table storage.buckets_analytics enable row level security;
alter table storage.iceberg_namespaces enable row level security;
alter table storage.iceberg_tables enable row level security;
alter table storage.buckets_vectors enable row level security;
alter table storage.vector_indexes enable row level security;

-- The migration history exactly as v1.70.6 records it: ids from 0 (the library's own
-- create-migrations-table), names and the hashes the server computes from its migration files.
-- With these 64 rows the real server validates the hashes, finds nothing to run and starts.
insert into storage.migrations (id, name, hash) values
  (0, 'create-migrations-table', 'e18db593bcde2aca2a408c4d1100f6abba2195df'),
  (1, 'initialmigration', '6ab16121fbaa08bbd11b712d05f358f9b555d777'),
  (2, 'storage-schema', 'f6a1fa2c93cbcd16d4e487b362e45fca157a8dbd'),
  (3, 'pathtoken-column', '2cb1b0004b817b29d5b0a971af16bafeede4b70d'),
  (4, 'add-migrations-rls', '427c5b63fe1c5937495d9c635c263ee7a5905058'),
  (5, 'add-size-functions', '79e081a1455b63666c1294a440f8ad4b1e6a7f84'),
  (6, 'change-column-name-in-get-size', 'ded78e2f1b5d7e616117897e6443a925965b30d2'),
  (7, 'add-rls-to-buckets', 'e7e7f86adbc51049f341dfe8d30256c1abca17aa'),
  (8, 'add-public-to-buckets', 'fd670db39ed65f9d08b01db09d6202503ca2bab3'),
  (9, 'fix-search-function', 'af597a1b590c70519b464a4ab3be54490712796b'),
  (10, 'search-files-search-function', 'b595f05e92f7e91211af1bbfe9c6a13bb3391e16'),
  (11, 'add-trigger-to-auto-update-updated_at-column', '7425bdb14366d1739fa8a18c83100636d74dcaa2'),
  (12, 'add-automatic-avif-detection-flag', '8e92e1266eb29518b6a4c5313ab8f29dd0d08df9'),
  (13, 'add-bucket-custom-limits', 'cce962054138135cd9a8c4bcd531598684b25e7d'),
  (14, 'use-bytes-for-max-size', '941c41b346f9802b411f06f30e972ad4744dad27'),
  (15, 'add-can-insert-object-function', '934146bc38ead475f4ef4b555c524ee5d66799e5'),
  (16, 'add-version', '76debf38d3fd07dcfc747ca49096457d95b1221b'),
  (17, 'drop-owner-foreign-key', 'f1cbb288f1b7a4c1eb8c38504b80ae2a0153d101'),
  (18, 'add_owner_id_column_deprecate_owner', 'e7a511b379110b08e2f214be852c35414749fe66'),
  (19, 'alter-default-value-objects-id', '02e5e22a78626187e00d173dc45f58fa66a4f043'),
  (20, 'list-objects-with-delimiter', 'cd694ae708e51ba82bf012bba00caf4f3b6393b7'),
  (21, 's3-multipart-uploads', '8c804d4a566c40cd1e4cc5b3725a664a9303657f'),
  (22, 's3-multipart-uploads-big-ints', '9737dc258d2397953c9953d9b86920b8be0cdb73'),
  (23, 'optimize-search-function', '9d7e604cddc4b56a5422dc68c9313f4a1b6f132c'),
  (24, 'operation-function', '8312e37c2bf9e76bbe841aa5fda889206d2bf8aa'),
  (25, 'custom-metadata', 'd974c6057c3db1c1f847afa0e291e6165693b990'),
  (26, 'objects-prefixes', '215cabcb7f78121892a5a2037a09fedf9a1ae322'),
  (27, 'search-v2', '859ba38092ac96eb3964d83bf53ccc0b141663a6'),
  (28, 'object-bucket-name-sorting', 'c73a2b5b5d4041e39705814fd3a1b95502d38ce4'),
  (29, 'create-prefixes', 'ad2c1207f76703d11a9f9007f821620017a66c21'),
  (30, 'update-object-levels', '2be814ff05c8252fdfdc7cfb4b7f5c7e17f0bed6'),
  (31, 'objects-level-index', 'b40367c14c3440ec75f19bbce2d71e914ddd3da0'),
  (32, 'backward-compatible-index-on-objects', 'e0c37182b0f7aee3efd823298fb3c76f1042c0f7'),
  (33, 'backward-compatible-index-on-prefixes', 'b480e99ed951e0900f033ec4eb34b5bdcb4e3d49'),
  (34, 'optimize-search-function-v1', 'ca80a3dc7bfef894df17108785ce29a7fc8ee456'),
  (35, 'add-insert-trigger-prefixes', '458fe0ffd07ec53f5e3ce9df51bfdf4861929ccc'),
  (36, 'optimise-existing-functions', '6ae5fca6af5c55abe95369cd4f93985d1814ca8f'),
  (37, 'add-bucket-name-length-trigger', '3944135b4e3e8b22d6d4cbb568fe3b0b51df15c1'),
  (38, 'iceberg-catalog-flag-on-buckets', '02716b81ceec9705aed84aa1501657095b32e5c5'),
  (39, 'add-search-v2-sort-support', '6706c5f2928846abee18461279799ad12b279b78'),
  (40, 'fix-prefix-race-conditions-optimized', '7ad69982ae2d372b21f48fc4829ae9752c518f6b'),
  (41, 'add-object-level-update-trigger', '07fcf1a22165849b7a029deed059ffcde08d1ae0'),
  (42, 'rollback-prefix-triggers', '771479077764adc09e2ea2043eb627503c034cd4'),
  (43, 'fix-object-level', '84b35d6caca9d937478ad8a797491f38b8c2979f'),
  (44, 'vector-bucket-type', '99c20c0ffd52bb1ff1f32fb992f3b351e3ef8fb3'),
  (45, 'vector-buckets', '049e27196d77a7cb76497a85afae669d8b230953'),
  (46, 'buckets-objects-grants', 'fedeb96d60fefd8e02ab3ded9fbde05632f84aed'),
  (47, 'iceberg-table-metadata', '649df56855c24d8b36dd4cc1aeb8251aa9ad42c2'),
  (48, 'iceberg-catalog-ids', 'e0e8b460c609b9999ccd0df9ad14294613eed939'),
  (49, 'buckets-objects-grants-postgres', '072b1195d0d5a2f888af6b2302a1938dd94b8b3d'),
  (50, 'search-v2-optimised', '6323ac4f850aa14e7387eb32102869578b5bd478'),
  (51, 'index-backward-compatible-search', '2ee395d433f76e38bcd3856debaf6e0e5b674011'),
  (52, 'drop-not-used-indexes-and-functions', '5cc44c8696749ac11dd0dc37f2a3802075f3a171'),
  (53, 'drop-index-lower-name', 'd0cb18777d9e2a98ebe0bc5cc7a42e57ebe41854'),
  (54, 'drop-index-object-level', '6289e048b1472da17c31a7eba1ded625a6457e67'),
  (55, 'prevent-direct-deletes', '262a4798d5e0f2e7c8970232e03ce8be695d5819'),
  (56, 'fix-optimized-search-function', 'b823ed1e418101032fa01374edc9a436e54e3ed4'),
  (57, 's3-multipart-uploads-metadata', 'f127886e00d1b374fadbc7c6b31e09336aad5287'),
  (58, 'operation-ergonomics', '00ca5d483b3fe0d522133d9002ccc5df98365120'),
  (59, 'drop-unused-functions', '38456f13e39691c2bbb4b5151d0d1cdbabd4a8c4'),
  (60, 'optimize-existing-functions-again', 'db35e1c91a9201e59f4fef8d972c2f277d68b157'),
  (61, 'mark-filename-immutable', 'fe0096517ae9d60aaec1d110172ba9036dc66bb7'),
  (62, 'object-versioning-core', '0b855f00ff3be0bfca91efee02a9858912491a9a'),
  (63, 'fix-search-name-relative-to-prefix', 'c7485e417624f795ce8bb2da21927f48e088904d');

-- ---------------------------------------------------------------------------------------------
-- Path helpers
-- ---------------------------------------------------------------------------------------------
create function storage.foldername(name text) returns text[]
language plpgsql immutable as $$
declare
  _parts text[];
begin
  select string_to_array(name, '/') into _parts;
  return _parts[1 : array_length(_parts, 1) - 1];
end
$$;

create function storage.filename(name text) returns text
language plpgsql immutable as $$
declare
  _parts text[];
begin
  select string_to_array(name, '/') into _parts;
  return _parts[array_length(_parts, 1)];
end
$$;

create function storage.extension(name text) returns text
language plpgsql immutable as $$
declare
  _parts text[];
  _filename text;
begin
  select string_to_array(name, '/') into _parts;
  select _parts[array_length(_parts, 1)] into _filename;
  return reverse(split_part(reverse(_filename), '.', 1));
end
$$;

-- The key up to and including the first delimiter after the prefix, or NULL for a leaf.
create function storage.get_common_prefix(p_key text, p_prefix text, p_delimiter text)
returns text language sql immutable as $$
  select case
    when position(p_delimiter in substring(p_key from length(p_prefix) + 1)) > 0
    then left(p_key, length(p_prefix) + position(p_delimiter in substring(p_key from length(p_prefix) + 1)))
    else null
  end
$$;

create function storage.get_size_by_bucket() returns table (size bigint, bucket_id text)
language plpgsql stable as $$
begin
  return query
    select sum((obj.metadata ->> 'size')::bigint)::bigint as size, obj.bucket_id
    from storage.objects as obj
    group by obj.bucket_id;
end
$$;

create function storage.operation() returns text
language plpgsql stable as $$
begin
  return current_setting('storage.operation', true);
end
$$;

-- Operation-aware policy helpers. A 'storage.' prefix on either side is ignored; an empty or
-- NULL expectation, or no operation set, never matches.
create function storage.allow_only_operation(expected_operation text) returns boolean
language sql stable as $$
  select coalesce(
    nullif(expected_operation, '') is not null
      and regexp_replace(storage.operation(), '^storage\.', '')
        = regexp_replace(expected_operation, '^storage\.', ''),
    false)
$$;

create function storage.allow_any_operation(expected_operations text[]) returns boolean
language sql stable as $$
  select exists (
    select 1 from unnest(expected_operations) as e(op)
    where nullif(e.op, '') is not null
      and regexp_replace(e.op, '^storage\.', '')
        = regexp_replace(storage.operation(), '^storage\.', '')
  )
$$;

-- Legacy permission probe: inserts, then raises PT200 so the insert rolls back.
create function storage.can_insert_object(bucketid text, name text, owner uuid, metadata jsonb)
returns void language plpgsql as $$
begin
  insert into storage.objects (bucket_id, name, owner, metadata)
  values (bucketid, name, owner, metadata);
  raise sqlstate 'PT200' using message = 'ROLLBACK', detail = 'rollback successful insert';
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Triggers
-- ---------------------------------------------------------------------------------------------
create function storage.update_updated_at_column() returns trigger
language plpgsql as $$
begin
  new.updated_at = now();
  return new;
end
$$;

create function storage.enforce_bucket_name_length() returns trigger
language plpgsql as $$
begin
  if length(new.name) > 100 then
    raise exception 'bucket name "%" is too long (% characters). Max is 100.', new.name, length(new.name);
  end if;
  return new;
end
$$;

create function storage.protect_delete() returns trigger
language plpgsql as $$
begin
  if coalesce(current_setting('storage.allow_delete_query', true), 'false') <> 'true' then
    raise exception 'Direct deletion from storage tables is not allowed. Use the Storage API instead.'
      using hint = 'This prevents accidental data loss from orphaned objects.', errcode = '42501';
  end if;
  return null;
end
$$;

create trigger update_objects_updated_at before update on storage.objects
  for each row execute function storage.update_updated_at_column();
create trigger enforce_bucket_name_length_trigger before insert or update of name on storage.buckets
  for each row execute function storage.enforce_bucket_name_length();
create trigger protect_objects_delete before delete on storage.objects
  for each statement execute function storage.protect_delete();
create trigger protect_buckets_delete before delete on storage.buckets
  for each statement execute function storage.protect_delete();

-- ---------------------------------------------------------------------------------------------
-- Listing (v1.34+ semantics). list v1 -> search; list-v2 -> search_v2, which sends name order
-- to list_objects_with_delimiter (skip-scan) and timestamp order to search_by_timestamp.
-- All SECURITY INVOKER: RLS on storage.objects filters what the caller sees.
-- ---------------------------------------------------------------------------------------------

-- list v1. Prefix + search match case-insensitively (lower(name) COLLATE "C" order); folders and
-- files interleave in that order for a name sort; timestamp sorts put folders first. Names are
-- relative to `prefix`. `levels` is accepted and unused. The limit is capped at 1500.
create function storage.search(
  prefix text, bucketname text, limits integer default 100, levels integer default 1,
  offsets integer default 0, search text default '', sortcolumn text default 'name',
  sortorder text default 'asc'
) returns table (
  name text, id uuid, updated_at timestamptz, created_at timestamptz,
  last_accessed_at timestamptz, metadata jsonb
) language plpgsql stable as $fn$
declare
  _limit integer := least(coalesce(limits, 100), 1500);
  _offset integer := greatest(coalesce(offsets, 0), 0);
  _full text := coalesce(prefix, '') || coalesce(search, '');
  _low text := lower(coalesce(prefix, '') || coalesce(search, ''));
  _plen integer := length(coalesce(prefix, ''));
  _asc boolean := lower(coalesce(sortorder, 'asc')) = 'asc';
  _col text := lower(coalesce(sortcolumn, 'name'));
  _upper text;
  _seek text;
  _peek text;
  _cp text;
  _row record;
  _count integer := 0;
  _skipped integer := 0;
  _batch integer;
  _hit_folder boolean;
begin
  if _col not in ('name', 'updated_at', 'created_at', 'last_accessed_at') then
    _col := 'name';
  end if;

  if _col <> 'name' then
    return query execute format($q$
      with matched as (
        select o.name as full_name, substring(o.name from $3 + 1) as rest,
               o.id, o.updated_at, o.created_at, o.last_accessed_at, o.metadata
        from storage.objects o
        where o.bucket_id = $2 and lower(left(o.name, length($1))) = lower($1)
      ), entries as (
        select split_part(m.rest, '/', 1) as name, null::uuid as id,
               null::timestamptz as updated_at, null::timestamptz as created_at,
               null::timestamptz as last_accessed_at, null::jsonb as metadata,
               0 as grp, null::timestamptz as sort_ts
        from matched m where position('/' in m.rest) > 0
        group by split_part(m.rest, '/', 1)
        union all
        select m.rest, m.id, m.updated_at, m.created_at, m.last_accessed_at, m.metadata,
               1, m.%1$I
        from matched m where position('/' in m.rest) = 0
      )
      select e.name, e.id, e.updated_at, e.created_at, e.last_accessed_at, e.metadata
      from entries e
      order by e.grp, case when e.grp = 0 then e.name end collate "C" %2$s,
               e.sort_ts %2$s, e.name collate "C" %2$s
      limit $4 offset $5
    $q$, _col, case when _asc then 'asc' else 'desc' end)
    using _full, bucketname, _plen, _limit, _offset;
    return;
  end if;

  -- Name order: skip-scan over (bucket_id, lower(name) COLLATE "C"), one probe per folder.
  if _low <> '' then
    _upper := left(_low, -1) || chr(ascii(right(_low, 1)) + 1);
  end if;
  _batch := least(greatest(_limit * 2, 100), 1000);

  if _asc then
    _seek := _low;
  else
    select o.name into _peek from storage.objects o
    where o.bucket_id = bucketname and lower(o.name) collate "C" >= _low
      and (_upper is null or lower(o.name) collate "C" < _upper)
    order by lower(o.name) collate "C" desc limit 1;
    if _peek is null then
      return;
    end if;
    _seek := lower(_peek) || '/';
  end if;

  loop
    exit when _count >= _limit;
    if _asc then
      select o.name into _peek from storage.objects o
      where o.bucket_id = bucketname and lower(o.name) collate "C" >= _seek
        and (_upper is null or lower(o.name) collate "C" < _upper)
      order by lower(o.name) collate "C" asc limit 1;
    else
      select o.name into _peek from storage.objects o
      where o.bucket_id = bucketname and lower(o.name) collate "C" < _seek
        and lower(o.name) collate "C" >= _low
      order by lower(o.name) collate "C" desc limit 1;
    end if;
    exit when _peek is null;

    _cp := storage.get_common_prefix(lower(_peek), _low, '/');
    if _cp is not null then
      if _skipped < _offset then
        _skipped := _skipped + 1;
      else
        name := substring(rtrim(storage.get_common_prefix(_peek, _full, '/'), '/') from _plen + 1);
        id := null; updated_at := null; created_at := null; last_accessed_at := null;
        metadata := null;
        return next;
        _count := _count + 1;
      end if;
      if _asc then
        _seek := left(_cp, -1) || chr(ascii('/') + 1);
      else
        _seek := _cp;
      end if;
    else
      _hit_folder := false;
      for _row in
        select o.name as n, o.id as i, o.updated_at as u, o.created_at as c,
               o.last_accessed_at as l, o.metadata as m
        from storage.objects o
        where o.bucket_id = bucketname
          and case when _asc
            then lower(o.name) collate "C" >= _seek
                 and (_upper is null or lower(o.name) collate "C" < _upper)
            else lower(o.name) collate "C" < _seek and lower(o.name) collate "C" >= _low end
        order by case when _asc then lower(o.name) collate "C" end asc,
                 case when not _asc then lower(o.name) collate "C" end desc
        limit _batch
      loop
        if storage.get_common_prefix(lower(_row.n), _low, '/') is not null then
          -- As v1.70.6 does: descending, the next probe starts strictly below this name, so
          -- a folder first met here in the batch is listed only if it holds a lower name too.
          _seek := lower(_row.n);
          _hit_folder := true;
          exit;
        end if;
        if _skipped < _offset then
          _skipped := _skipped + 1;
        else
          name := substring(_row.n from _plen + 1);
          id := _row.i; updated_at := _row.u; created_at := _row.c; last_accessed_at := _row.l;
          metadata := _row.m;
          return next;
          _count := _count + 1;
        end if;
        -- As v1.70.6 does: ascending, the probe after a full batch resumes at name || '/'.
        _seek := case when _asc then lower(_row.n) || '/' else lower(_row.n) end;
        exit when _count >= _limit;
      end loop;
    end if;
  end loop;
end
$fn$;

-- S3-style listing in byte order (COLLATE "C"), case-sensitive prefix. A common prefix comes
-- back once, as the folder's full name without the trailing delimiter and with NULL columns.
create function storage.list_objects_with_delimiter(
  _bucket_id text, prefix_param text, delimiter_param text, max_keys integer default 100,
  start_after text default '', next_token text default '', sort_order text default 'asc'
) returns table (
  name text, id uuid, metadata jsonb, updated_at timestamptz, created_at timestamptz,
  last_accessed_at timestamptz
) language plpgsql stable as $fn$
declare
  _asc boolean := lower(coalesce(sort_order, 'asc')) = 'asc';
  _prefix text := coalesce(prefix_param, '');
  _start text := case when coalesce(next_token, '') <> '' then next_token
                      else coalesce(start_after, '') end;
  _upper text;
  _seek text;
  _peek text;
  _cp text;
  _row record;
  _count integer := 0;
  _batch integer := least(greatest(coalesce(max_keys, 100) * 2, 100), 1000);
begin
  if _prefix <> '' then
    _upper := left(_prefix, -1) || chr(ascii(right(_prefix, 1)) + 1);
  end if;

  if _start = '' then
    if _asc then
      _seek := _prefix;
    else
      select o.name into _peek from storage.objects o
      where o.bucket_id = _bucket_id and o.name collate "C" >= _prefix
        and (_upper is null or o.name collate "C" < _upper)
      order by o.name collate "C" desc limit 1;
      if _peek is null then
        return;
      end if;
      _seek := _peek || chr(1);
    end if;
  elsif exists (
    select 1 from storage.objects o
    where o.bucket_id = _bucket_id
      and starts_with(o.name collate "C", _start || delimiter_param)
  ) then
    -- The cursor names a folder: continue after (or before) all of it.
    _seek := case when _asc then _start || chr(ascii(delimiter_param) + 1) else _start end;
  else
    _seek := case when _asc then _start || chr(1) else _start end;
  end if;

  loop
    exit when _count >= max_keys;
    if _asc then
      select o.name into _peek from storage.objects o
      where o.bucket_id = _bucket_id and o.name collate "C" >= _seek
        and (_upper is null or o.name collate "C" < _upper)
      order by o.name collate "C" asc limit 1;
    else
      select o.name into _peek from storage.objects o
      where o.bucket_id = _bucket_id and o.name collate "C" < _seek
        and o.name collate "C" >= _prefix
      order by o.name collate "C" desc limit 1;
    end if;
    exit when _peek is null;

    _cp := storage.get_common_prefix(_peek, _prefix, delimiter_param);
    if _cp is not null then
      name := rtrim(_cp, delimiter_param);
      id := null; metadata := null; updated_at := null; created_at := null;
      last_accessed_at := null;
      return next;
      _count := _count + 1;
      _seek := case when _asc then left(_cp, -1) || chr(ascii(delimiter_param) + 1) else _cp end;
    else
      for _row in
        select o.name as n, o.id as i, o.metadata as m, o.updated_at as u, o.created_at as c,
               o.last_accessed_at as l
        from storage.objects o
        where o.bucket_id = _bucket_id
          and case when _asc
            then o.name collate "C" >= _seek and (_upper is null or o.name collate "C" < _upper)
            else o.name collate "C" < _seek and o.name collate "C" >= _prefix end
        order by case when _asc then o.name collate "C" end asc,
                 case when not _asc then o.name collate "C" end desc
        limit _batch
      loop
        if storage.get_common_prefix(_row.n, _prefix, delimiter_param) is not null then
          _seek := case when _asc then _row.n else _row.n || chr(1) end;
          exit;
        end if;
        name := _row.n; id := _row.i; metadata := _row.m; updated_at := _row.u;
        created_at := _row.c; last_accessed_at := _row.l;
        return next;
        _count := _count + 1;
        _seek := case when _asc then _row.n || chr(1) else _row.n end;
        exit when _count >= max_keys;
      end loop;
    end if;
  end loop;
end
$fn$;

-- list-v2 ordered by a timestamp: folders carry MIN(created_at) of their children; the cursor is
-- (timestamp at millisecond precision, name).
create function storage.search_by_timestamp(
  p_prefix text, p_bucket_id text, p_limit integer, p_level integer, p_start_after text,
  p_sort_order text, p_sort_column text, p_sort_column_after text
) returns table (
  key text, name text, id uuid, updated_at timestamptz, created_at timestamptz,
  last_accessed_at timestamptz, metadata jsonb
) language plpgsql stable as $fn$
declare
  _ord text := case when lower(coalesce(p_sort_order, 'asc')) = 'desc' then 'desc' else 'asc' end;
  _col text := case when p_sort_column in ('updated_at', 'created_at') then p_sort_column
                    else 'created_at' end;
begin
  return query execute format($q$
    with raw as (
      select o.name, o.id, o.updated_at, o.created_at, o.last_accessed_at, o.metadata,
             storage.get_common_prefix(o.name, $1, '/') as cp
      from storage.objects o
      where o.bucket_id = $2 and starts_with(o.name collate "C", $1)
    ), combined as (
      select rtrim(r.cp, '/') as name, null::uuid as id, min(r.created_at) as updated_at,
             min(r.created_at) as created_at, null::timestamptz as last_accessed_at,
             null::jsonb as metadata
      from raw r where r.cp is not null group by r.cp
      union all
      select r.name, r.id, r.updated_at, r.created_at, r.last_accessed_at, r.metadata
      from raw r where r.cp is null
    )
    select split_part(c.name, '/', $3) as key, c.name, c.id, c.updated_at, c.created_at,
           c.last_accessed_at, c.metadata
    from combined c
    where $5 = '' or row(date_trunc('milliseconds', c.%1$I), c.name collate "C")
      %3$s row(coalesce(nullif($6, '')::timestamptz, 'epoch'::timestamptz), $5)
    order by coalesce(date_trunc('milliseconds', c.%1$I), 'epoch'::timestamptz) %2$s,
             c.name collate "C" %2$s
    limit $4
  $q$, _col, _ord, case when _ord = 'asc' then '>' else '<' end)
  using coalesce(p_prefix, ''), p_bucket_id, p_level, p_limit, coalesce(p_start_after, ''),
        coalesce(p_sort_column_after, '');
end
$fn$;

create function storage.search_v2(
  prefix text, bucket_name text, limits integer default 100, levels integer default 1,
  start_after text default '', sort_order text default 'asc', sort_column text default 'name',
  sort_column_after text default ''
) returns table (
  key text, name text, id uuid, updated_at timestamptz, created_at timestamptz,
  last_accessed_at timestamptz, metadata jsonb
) language plpgsql stable as $fn$
declare
  _limit integer := least(coalesce(limits, 100), 1500);
  _ord text := lower(coalesce(sort_order, 'asc'));
  _col text := lower(coalesce(sort_column, 'name'));
begin
  if _ord not in ('asc', 'desc') then
    _ord := 'asc';
  end if;
  if _col not in ('name', 'updated_at', 'created_at') then
    _col := 'name';
  end if;
  if _col = 'name' then
    return query
      select split_part(l.name, '/', levels) as key, l.name, l.id, l.updated_at, l.created_at,
             l.last_accessed_at, l.metadata
      from storage.list_objects_with_delimiter(
        bucket_name, coalesce(prefix, ''), '/', _limit, coalesce(start_after, ''), '', _ord
      ) l;
  else
    return query select * from storage.search_by_timestamp(
      prefix, bucket_name, _limit, levels, start_after, _ord, _col, sort_column_after
    );
  end if;
end
$fn$;

-- S3 ListMultipartUploads: in-progress uploads under a prefix, keys rolled up to the first
-- delimiter after the prefix (one row per rolled-up key, its earliest upload), byte order.
-- The prefix matches as ILIKE does (case-insensitive); a key token resumes after that key, an
-- upload token after that upload id.
create function storage.list_multipart_uploads_with_delimiter(
  bucket_id text, prefix_param text, delimiter_param text, max_keys integer default 100,
  next_key_token text default '', next_upload_token text default ''
) returns table (key text, id text, created_at timestamptz)
language plpgsql as $fn$
begin
  return query
    select distinct on (r.rolled) r.rolled, r.upload_id, r.started
    from (
      select coalesce(
               storage.get_common_prefix(u.key, prefix_param, delimiter_param), u.key
             ) collate "C" as rolled,
             u.id as upload_id, u.created_at as started
      from storage.s3_multipart_uploads u
      where u.bucket_id = list_multipart_uploads_with_delimiter.bucket_id
        and u.key ilike prefix_param || '%'
    ) r
    where case
      when coalesce(next_upload_token, '') <> '' then r.upload_id collate "C" > next_upload_token
      when coalesce(next_key_token, '') <> '' then r.rolled > next_key_token
      else true
    end
    order by r.rolled, r.started
    limit max_keys;
end
$fn$;

-- ---------------------------------------------------------------------------------------------
-- Grants as v1.70.6 leaves them on this project's roles. Default privileges (00_roles.sql)
-- already gave ALL on every new table and function to postgres and the API roles.
-- ---------------------------------------------------------------------------------------------
grant all on storage.buckets, storage.objects to postgres with grant option;
grant all on storage.buckets, storage.objects to anon, authenticated, service_role;
-- Multipart and Iceberg catalog tables: the API roles may only read them.
revoke all on storage.s3_multipart_uploads, storage.s3_multipart_uploads_parts,
  storage.iceberg_namespaces, storage.iceberg_tables from anon, authenticated;
grant all on storage.s3_multipart_uploads, storage.s3_multipart_uploads_parts,
  storage.iceberg_namespaces, storage.iceberg_tables to service_role;
grant select on storage.s3_multipart_uploads, storage.s3_multipart_uploads_parts,
  storage.iceberg_namespaces, storage.iceberg_tables to authenticated, anon;
-- Hosted only (HOSTED_ROLES.md §2, migration 20250421084701 of supabase/postgres): the
-- migration history is closed to postgres and the API roles. The real server leaves them ALL;
-- stack/baseline-schema.test.ts lists this as a kept difference.
revoke all on storage.migrations from anon, authenticated, service_role, postgres;

reset role;
