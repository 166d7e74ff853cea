-- Stowage, purge: deleting a user deletes their files.
--
-- No bytes can be removed from SQL (the Storage API owns them), so a row deleted from auth.users
-- (or soft-deleted by GoTrue: deleted_at set) only queues the user here, in GoTrue's own
-- transaction, and drops their upload reservations so no new upload can land. POST /admin/purge
-- and `stowage purge` drain the queue through the Storage API, home by home, within a time
-- budget; the last step (stowage.purge_finish) removes the user's counters and rows once no
-- object is left. Hosted projects allow postgres to create triggers on auth.users (it holds
-- TRIGGER there; HOSTED_ROLES.md §2.4); the functions are security definer with an empty
-- search_path because GoTrue deletes as supabase_auth_admin (search_path auth).

create table stowage.purge_queue (
  user_id uuid primary key,
  queued_at timestamptz not null default now(),
  reason text not null check (reason in ('deleted', 'soft_deleted', 'orphaned')),
  attempts integer not null default 0,
  last_attempt_at timestamptz
);
comment on table stowage.purge_queue is
  'Users whose home folders are to be emptied through the Storage API (deleted users).';
alter table stowage.purge_queue enable row level security;
grant select on stowage.purge_queue to service_role;

-- Whether a user is gone: no row in auth.users, or soft-deleted.
create function stowage.user_is_gone(p_user_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select not exists (select 1 from auth.users u where u.id = p_user_id and u.deleted_at is null)
$$;

-- Queues users and drops their reservations, under their usage locks taken in user-id order
-- (the lock order of every writer: usage row, then reservations).
create function stowage.queue_purge(p_user_ids uuid[], p_reason text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into stowage.purge_queue (user_id, reason)
  select distinct u, p_reason from unnest(p_user_ids) u where u is not null
  on conflict (user_id) do nothing;
  perform 1 from stowage.usage s where s.user_id = any (p_user_ids) order by s.user_id for update;
  delete from stowage.reservations r where r.user_id = any (p_user_ids);
end
$$;

create function stowage.users_after_delete()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform stowage.queue_purge(array(select g.id from gone_users g order by g.id), 'deleted');
  return null;
end
$$;

create function stowage.users_after_soft_delete()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform stowage.queue_purge(array[new.id], 'soft_deleted');
  return null;
end
$$;

create trigger stowage_users_purge
  after delete on auth.users
  referencing old table as gone_users
  for each statement execute function stowage.users_after_delete();

create trigger stowage_users_soft_delete_purge
  after update of deleted_at on auth.users
  for each row when (old.deleted_at is null and new.deleted_at is not null)
  execute function stowage.users_after_soft_delete();

-- A deleted user's access token stays valid until it expires: no new reservation for them, so
-- no upload can land in a home that is being purged (or already was).
create function stowage.reservations_before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if stowage.user_is_gone(new.user_id) then
    perform stowage.fail('SW403', 'forbidden',
      'user "' || new.user_id || '" was deleted: their files are being removed');
  end if;
  return new;
end
$$;

create trigger stowage_reservations_user_alive
  before insert on stowage.reservations
  for each row execute function stowage.reservations_before_insert();

-- ---------------------------------------------------------------------------
-- Draining (service role): claim users, find a queued user's homes, finish.
-- ---------------------------------------------------------------------------

-- The next users to work on (least recently tried first), counting the attempt. Concurrent
-- drains may overlap on a user: every step is idempotent.
create function stowage.purge_claim(p_user_id uuid default null, p_limit integer default 100)
returns table (user_id uuid, reason text, attempts integer)
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  if not stowage.is_service_caller() then
    perform stowage.fail('SW403', 'forbidden', 'only the service role may purge');
  end if;
  if p_user_id is not null and not exists (
    select 1 from stowage.purge_queue q where q.user_id = p_user_id) then
    perform stowage.fail('SW404', 'not_found', 'user "' || p_user_id || '" is not queued for purge');
  end if;
  return query
    update stowage.purge_queue q set attempts = q.attempts + 1, last_attempt_at = now()
     where q.user_id in (
       select c.user_id from stowage.purge_queue c
        where p_user_id is null or c.user_id = p_user_id
        order by c.last_attempt_at nulls first, c.queued_at, c.user_id
        limit greatest(coalesce(p_limit, 0), 0))
    returning q.user_id, q.reason, q.attempts;
end
$$;

-- The home, in p_bucket, of a user queued for purge. Refuses a user who is not queued or who
-- still exists (a live user's files are never purged); NULL when the bucket is not managed.
create function stowage.purge_home(p_bucket text, p_user_id uuid)
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if not stowage.is_service_caller() then
    perform stowage.fail('SW403', 'forbidden', 'only the service role may purge');
  end if;
  if not exists (select 1 from stowage.purge_queue q where q.user_id = p_user_id) then
    perform stowage.fail('SW404', 'not_found', 'user "' || p_user_id || '" is not queued for purge');
  end if;
  if not stowage.user_is_gone(p_user_id) then
    perform stowage.fail('SW403', 'forbidden',
      'user "' || p_user_id || '" still exists: a live user''s files are never purged');
  end if;
  return stowage.home_prefix(p_bucket, p_user_id);
end
$$;

-- Objects left in a user's homes; when none, removes what Stowage holds for the user (usage,
-- reservations, plan, assistant mapping and positions; the queue row) and returns 0.
create function stowage.purge_finish(p_user_id uuid)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_left bigint;
begin
  if not stowage.is_service_caller() then
    perform stowage.fail('SW403', 'forbidden', 'only the service role may purge');
  end if;
  if not exists (select 1 from stowage.purge_queue q where q.user_id = p_user_id) then
    return 0;  -- already finished (another drain)
  end if;
  if not stowage.user_is_gone(p_user_id) then
    perform stowage.fail('SW403', 'forbidden',
      'user "' || p_user_id || '" still exists: a live user''s files are never purged');
  end if;
  -- Under the user's lock: a write landing now either committed (and is counted) or waits.
  perform 1 from stowage.usage u where u.user_id = p_user_id for update;
  select count(*) into v_left
    from stowage.bucket_homes h
    join storage.objects o on o.bucket_id = h.bucket_id
     and o.name collate "C" >= replace(h.home_template, '{uid}', p_user_id::text) collate "C"
     and o.name collate "C" < (left(replace(h.home_template, '{uid}', p_user_id::text), -1) || '0') collate "C"
   where stowage.home_owner(o.bucket_id, o.name) = p_user_id;
  if v_left > 0 then
    return v_left;
  end if;
  delete from stowage.reservations r where r.user_id = p_user_id;
  delete from stowage.usage u where u.user_id = p_user_id;
  -- A hard delete cascaded these already; a soft delete keeps the auth row, so remove them here.
  delete from stowage.user_plans p where p.user_id = p_user_id;
  delete from stowage.assistants a where a.user_id = p_user_id;
  delete from stowage.assistant_positions a where a.user_id = p_user_id;
  delete from stowage.purge_queue q where q.user_id = p_user_id;
  return 0;
end
$$;

-- Queues the owners of homes that still hold objects although their user is gone (deleted
-- before Stowage was installed). Returns how many were queued.
create function stowage.queue_orphaned_homes()
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_users uuid[];
begin
  if not stowage.is_service_caller() then
    perform stowage.fail('SW403', 'forbidden', 'only the service role may purge');
  end if;
  select coalesce(array_agg(x.owner order by x.owner), '{}') into v_users
    from (select distinct stowage.home_owner(o.bucket_id, o.name) as owner
            from storage.objects o
            join stowage.bucket_homes h on h.bucket_id = o.bucket_id) x
   where x.owner is not null and stowage.user_is_gone(x.owner)
     and not exists (select 1 from stowage.purge_queue q where q.user_id = x.owner);
  perform stowage.queue_purge(v_users, 'orphaned');
  return cardinality(v_users);
end
$$;

revoke execute on function stowage.user_is_gone(uuid), stowage.queue_purge(uuid[], text),
  stowage.users_after_delete(), stowage.users_after_soft_delete(),
  stowage.reservations_before_insert(), stowage.purge_claim(uuid, integer),
  stowage.purge_home(text, uuid), stowage.purge_finish(uuid), stowage.queue_orphaned_homes()
  from public;
grant execute on function stowage.purge_claim(uuid, integer), stowage.purge_home(text, uuid),
  stowage.purge_finish(uuid), stowage.queue_orphaned_homes() to service_role;
