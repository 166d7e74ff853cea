-- Stowage, events: every object created, overwritten, moved or deleted in a home is recorded
-- once, in the transaction that changes it, in the append-only table stowage.events; a backend
-- acts for a user on every route (stowage.acting_home).
--
-- The event triggers are statement-level AFTER triggers with transition tables, separate from
-- the quota triggers (their own functions and names): a 1000-key delete writes its events with
-- one INSERT ... SELECT, and the quota triggers can be rewritten without touching these.
--
-- Reading in order ("after id N") must be exact while writers commit concurrently. A sequence
-- hands out ids in nextval order, not commit order: an id can become visible after a larger one
-- already was, and a reader resuming after the larger one would skip it forever. So each event
-- also records its writer's transaction id (xid8), and readers walk the events in (xid, id)
-- order and serve only events whose transaction is older than the oldest transaction still
-- running (pg_snapshot_xmin of the current snapshot). Every transaction below that horizon has
-- ended, so the set of events below it is final: a later event always sorts after everything
-- already served. Writers pay nothing for this (no shared lock, no counter row); the price is a
-- delay: an event is served once every transaction that started writing before it has ended.
-- The cursor a client holds is an event id; its xid is looked up in the table.

-- ---------------------------------------------------------------------------
-- Settings: how long events are kept.
-- ---------------------------------------------------------------------------
alter table stowage.settings
  add column event_retention_seconds integer not null default 604800
    check (event_retention_seconds > 0);
comment on column stowage.settings.event_retention_seconds is
  'Events older than this are removed by stowage.prune_events() (default 7 days).';

-- ---------------------------------------------------------------------------
-- The events table.
-- ---------------------------------------------------------------------------
create table stowage.events (
  id bigint generated always as identity primary key,
  -- The writing transaction (top level): the order readers walk, see above.
  xid xid8 not null default pg_current_xact_id(),
  user_id uuid not null,
  bucket_id text not null,
  -- Home-relative path (as the HTTP API names files) and the full object key.
  path text not null,
  name text not null,
  kind text not null check (kind in ('created', 'overwritten', 'moved', 'deleted')),
  size bigint not null default 0,
  content_type text,
  -- Where a moved object came from (same user), home-relative.
  from_bucket_id text,
  from_path text,
  -- The Storage server's operation (storage.object.upload_signed, storage.object.copy, ...).
  operation text,
  created_at timestamptz not null default now()
);
comment on table stowage.events is
  'Append-only: one row per object created, overwritten, moved or deleted in a user home. '
  'Read in order with stowage.events_after(); users see their own rows (RLS, Realtime).';
create index events_xid_id_idx on stowage.events (xid, id);
create index events_user_xid_id_idx on stowage.events (user_id, xid, id);
-- Append-only rows arrive in time order: a BRIN index finds the old ones for pruning at almost
-- no cost to writers.
create index events_created_at_idx on stowage.events using brin (created_at);

alter table stowage.events enable row level security;
create policy events_own_select on stowage.events for select to authenticated
  using (user_id = (select auth.uid()));
grant select on stowage.events to authenticated, service_role;

-- Append-only: no update ever; deletes only by stowage.prune_events() (and the owner's own SQL).
create function stowage.events_append_only()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' and current_setting('stowage.pruning', true) = 'on' then
    return null;
  end if;
  raise exception using errcode = '42501',
    message = 'forbidden: stowage.events is append-only (old events go with stowage.prune_events())';
end
$$;
create trigger stowage_events_append_only
  before update or delete or truncate on stowage.events
  for each statement execute function stowage.events_append_only();

-- ---------------------------------------------------------------------------
-- The writers: statement-level triggers on storage.objects.
-- ---------------------------------------------------------------------------

-- Whether the statement runs as an API user (the Storage server's permission tests do; its
-- final writes run as service_role).
create function stowage.is_api_user()
returns boolean
language sql
stable
set search_path = ''
as $$
  select coalesce(nullif(current_setting('role', true), ''), 'none') in ('authenticated', 'anon')
$$;

-- Home-relative path of a key in a user's home.
create function stowage.home_path(p_bucket_id text, p_name text, p_user_id uuid)
returns text
language sql
stable
set search_path = ''
as $$
  select substr(p_name, length(stowage.home_prefix(p_bucket_id, p_user_id)) + 1)
$$;

-- Rows written by an API user without a size are the Storage server's permission test, always
-- rolled back (its final write carries the size, as service_role): they make no event, which
-- keeps upload signing free of event work.
create function stowage.events_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_probe boolean := stowage.is_api_user();
begin
  if v_probe and not exists (select 1 from new_rows n where n.metadata ? 'size') then
    return null;
  end if;
  insert into stowage.events (user_id, bucket_id, path, name, kind, size, content_type, operation)
  select x.owner, n.bucket_id, stowage.home_path(n.bucket_id, n.name, x.owner), n.name, 'created',
         stowage.object_size(n.metadata), n.metadata ->> 'mimetype',
         nullif(current_setting('storage.operation', true), '')
    from new_rows n
    cross join lateral (select stowage.home_owner(n.bucket_id, n.name) as owner) x
   where x.owner is not null
     and not (v_probe and not coalesce(n.metadata ? 'size', false))
   order by n.bucket_id, n.name;
  return null;
end
$$;

-- An update is an overwrite (same key, new bytes: version or metadata changed), a move within
-- one user's homes, or, across users (the service role only), a delete for the old owner and a
-- create for the new one. Other updates (user_metadata, timestamps) make no event.
create function stowage.events_after_update()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_probe boolean := stowage.is_api_user();
  v_operation text := nullif(current_setting('storage.operation', true), '');
begin
  if v_probe and not exists (select 1 from new_rows n where n.metadata ? 'size') then
    return null;
  end if;
  insert into stowage.events (user_id, bucket_id, path, name, kind, size, content_type,
    from_bucket_id, from_path, operation)
  select e.user_id, e.bucket_id, stowage.home_path(e.bucket_id, e.name, e.user_id), e.name, e.kind,
         stowage.object_size(e.metadata), e.metadata ->> 'mimetype', e.from_bucket_id,
         case when e.from_name is not null
              then stowage.home_path(e.from_bucket_id, e.from_name, e.user_id) end,
         v_operation
    from (
      select p.*, stowage.home_owner(p.old_bucket, p.old_name) as old_owner,
             stowage.home_owner(p.new_bucket, p.new_name) as new_owner,
             (p.old_bucket, p.old_name) is distinct from (p.new_bucket, p.new_name) as relocated
        from (
          select o.bucket_id as old_bucket, o.name as old_name, o.metadata as old_meta,
                 o.version as old_version, n.bucket_id as new_bucket, n.name as new_name,
                 n.metadata as new_meta, n.version as new_version
            from old_rows o
            join new_rows n on n.id = o.id
           where not (v_probe and not coalesce(n.metadata ? 'size', false))
        ) p
    ) c
    cross join lateral (
      select c.new_owner, c.new_bucket, c.new_name, 'overwritten', c.new_meta, null::text, null::text, 1
       where not c.relocated and c.new_owner is not null
         and (c.old_version is distinct from c.new_version or c.old_meta is distinct from c.new_meta)
      union all
      select c.new_owner, c.new_bucket, c.new_name, 'moved', c.new_meta, c.old_bucket, c.old_name, 1
       where c.relocated and c.new_owner is not null and c.old_owner = c.new_owner
      union all
      select c.old_owner, c.old_bucket, c.old_name, 'deleted', c.old_meta, null, null, 0
       where c.relocated and c.old_owner is not null and c.old_owner is distinct from c.new_owner
      union all
      select c.new_owner, c.new_bucket, c.new_name, 'created', c.new_meta, null, null, 1
       where c.relocated and c.new_owner is not null and c.old_owner is distinct from c.new_owner
    ) e (user_id, bucket_id, name, kind, metadata, from_bucket_id, from_name, step)
   order by c.new_bucket, c.new_name, e.step;
  return null;
end
$$;

create function stowage.events_after_delete()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into stowage.events (user_id, bucket_id, path, name, kind, size, content_type, operation)
  select x.owner, d.bucket_id, stowage.home_path(d.bucket_id, d.name, x.owner), d.name, 'deleted',
         stowage.object_size(d.metadata), d.metadata ->> 'mimetype',
         nullif(current_setting('storage.operation', true), '')
    from deleted_rows d
    cross join lateral (select stowage.home_owner(d.bucket_id, d.name) as owner) x
   where x.owner is not null
   order by d.bucket_id, d.name;
  return null;
end
$$;

create trigger stowage_events_insert
  after insert on storage.objects
  referencing new table as new_rows
  for each statement execute function stowage.events_after_insert();

create trigger stowage_events_update
  after update on storage.objects
  referencing old table as old_rows new table as new_rows
  for each statement execute function stowage.events_after_update();

create trigger stowage_events_delete
  after delete on storage.objects
  referencing old table as deleted_rows
  for each statement execute function stowage.events_after_delete();

-- ---------------------------------------------------------------------------
-- The reader: events after a cursor, in an order no concurrent writer can break.
-- ---------------------------------------------------------------------------
create function stowage.events_after(p_after bigint default 0, p_limit integer default 100,
  p_user_id uuid default null)
returns setof stowage.events
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_role text := coalesce(nullif(current_setting('role', true), ''), 'none');
  v_user uuid := p_user_id;
  v_after bigint := coalesce(p_after, 0);
  v_xid xid8 := '0'::xid8;
  -- Every transaction below this one has ended: the events below it are final.
  v_horizon xid8 := pg_snapshot_xmin(pg_current_snapshot());
begin
  if v_role = 'authenticated' then
    v_user := stowage.acting_user(p_user_id);  -- a user reads only their own (403 otherwise)
  elsif v_role not in ('service_role', 'none') then
    perform stowage.fail('SW403', 'forbidden', 'role "' || v_role || '" may not read events');
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 10000 then
    perform stowage.fail('SW400', 'invalid_request', 'limit must be 1 to 10000');
  end if;
  if v_after < 0 then
    perform stowage.fail('SW400', 'invalid_request', 'after must be 0 or an event id');
  end if;
  if v_after > 0 then
    select e.xid into v_xid from stowage.events e
     where e.id = v_after and (v_user is null or e.user_id = v_user);
    if not found then
      perform stowage.fail('SW404', 'not_found', 'event ' || v_after || ' is gone (older than '
        || 'the retention) or was never yours: resume from after=0',
        jsonb_build_object('after', v_after));
    end if;
  end if;
  if v_user is null then
    return query select e.* from stowage.events e
      where (e.xid, e.id) > (v_xid, v_after) and e.xid < v_horizon
      order by e.xid, e.id limit p_limit;
  else
    return query select e.* from stowage.events e
      where e.user_id = v_user and (e.xid, e.id) > (v_xid, v_after) and e.xid < v_horizon
      order by e.xid, e.id limit p_limit;
  end if;
end
$$;
comment on function stowage.events_after(bigint, integer, uuid) is
  'Events after event p_after (0: from the start), in commit-safe order, up to p_limit; a user '
  'reads their own, the service role anyone''s (p_user_id filters).';

-- ---------------------------------------------------------------------------
-- Pruning: events older than the retention, at most p_limit per call.
-- ---------------------------------------------------------------------------
create function stowage.prune_events(p_limit integer default 100000)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_cutoff timestamptz;
  v_count bigint;
begin
  if not stowage.is_service_caller() then
    perform stowage.fail('SW403', 'forbidden', 'only the service role may prune events');
  end if;
  select now() - make_interval(secs => s.event_retention_seconds) into v_cutoff
    from stowage.settings s;
  perform set_config('stowage.pruning', 'on', true);
  delete from stowage.events e
   where e.id in (select o.id from stowage.events o where o.created_at < v_cutoff
                   limit greatest(coalesce(p_limit, 0), 0));
  get diagnostics v_count = row_count;
  perform set_config('stowage.pruning', '', true);
  return v_count;
end
$$;
comment on function stowage.prune_events(integer) is
  'Deletes events older than settings.event_retention_seconds (at most p_limit); run it from '
  'pg_cron, POST /admin/purge or stowage purge.';

-- ---------------------------------------------------------------------------
-- Acting for a user: the home of the user a call acts for (the caller, or the user a service
-- caller names, who must exist). The one check behind every route's userId.
-- ---------------------------------------------------------------------------
create function stowage.acting_home(p_bucket text, p_user_id uuid default null)
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_user uuid := stowage.acting_user(p_user_id);
begin
  if stowage.is_service_caller() then
    perform stowage.require_user_exists(v_user);
  end if;
  return stowage.home_prefix(p_bucket, v_user);
end
$$;
comment on function stowage.acting_home(text, uuid) is
  'Home prefix, in p_bucket, of the user the call acts for (a user: themselves only; the '
  'service role: p_user_id, required and existing); NULL when the bucket is not managed.';

-- PUBLIC's default EXECUTE, function by function (only this migration's: other migrations may
-- change theirs in parallel).
revoke execute on function stowage.events_append_only(), stowage.is_api_user(),
  stowage.home_path(text, text, uuid), stowage.events_after_insert(),
  stowage.events_after_update(), stowage.events_after_delete(),
  stowage.events_after(bigint, integer, uuid), stowage.prune_events(integer),
  stowage.acting_home(text, uuid) from public;
grant execute on function stowage.events_after(bigint, integer, uuid),
  stowage.acting_home(text, uuid) to authenticated, service_role;
grant execute on function stowage.prune_events(integer) to service_role;
