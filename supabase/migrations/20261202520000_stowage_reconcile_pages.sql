-- Stowage, reconcile that scales: a paged, resumable walk over users.
--
-- stowage.reconcile() without a user aggregates every managed object in one statement: about
-- 2 s per 100k objects here, so through the API (15 s statement timeout) it stops working at
-- around 600k objects. stowage.reconcile_page walks users in id order instead, from a cursor,
-- within a time budget: each user costs one indexed range read of their homes (the same read as
-- the per-user stowage.reconcile(p_user_id)), so a page costs the same at 10k objects and at 10M,
-- and an operator calls it again with the cursor it returned until done. stowage.reconcile is
-- unchanged.
--
-- The users walked: everyone in auth.users, stowage.usage or stowage.reservations (three indexed
-- reads per page). A home whose user is gone and who never had a counter is not walked: those
-- are the purge's (POST /admin/purge {orphans: true}, `stowage purge --orphans`).
--
-- Locks: a user's counters are checked in one statement (one snapshot, in which the triggers keep
-- counters and objects consistent), without a lock; only a user whose counters disagree (or who
-- holds expired reservations) is recomputed, under their usage lock, with one indexed read, like
-- stowage.reconcile(p_user_id). So a page blocks no upload of a user without drift. Objects are
-- only read, never locked.

-- Bytes and objects in a user's homes (all managed buckets): one index range read per bucket
-- (idx_objects_bucket_id_name). The range [home, home minus its last "/" || '0') holds exactly the
-- keys that start with the home ('/' and '0' are neighbours in "C" order), and every key longer
-- than the home is in it by stowage.home_owner's rule: no per-row call needed. LATERAL keeps the
-- bounds per bucket a parameter of an index scan: as a plain join, the planner (bucket_homes is
-- tiny and rarely analyzed) hashes the whole of storage.objects instead (100 ms at 11k rows).
-- JIT off: the planner's guess for bucket_homes (hundreds of rows) prices this read above
-- jit_above_cost, and compiling it cost 30-70 ms per call for a read of well under 1 ms.
create function stowage.home_totals(p_user_id uuid, out bytes bigint, out objects bigint)
language sql
stable
set search_path = ''
set jit = off
as $$
  select coalesce(sum(t.bytes), 0)::bigint, coalesce(sum(t.objects), 0)::bigint
    from stowage.bucket_homes h,
         lateral (select sum(stowage.object_size(o.metadata)) as bytes, count(*) as objects
                    from storage.objects o
                   where o.bucket_id = h.bucket_id
                     and o.name collate "C" > replace(h.home_template, '{uid}', p_user_id::text) collate "C"
                     and o.name collate "C"
                         < (left(replace(h.home_template, '{uid}', p_user_id::text), -1) || '0') collate "C"
                 ) t
$$;

create function stowage.reconcile_page(
  p_cursor uuid default null,
  p_budget_ms integer default 1000,
  p_limit integer default 1000,
  out users jsonb,
  out checked integer,
  out next_cursor uuid,
  out done boolean)
language plpgsql
volatile
security definer
set search_path = ''
set jit = off
as $$
declare
  v_start timestamptz := clock_timestamp();
  v_limit integer := least(greatest(coalesce(p_limit, 1000), 1), 10000);
  v_lo uuid := coalesce(p_cursor, '00000000-0000-0000-0000-000000000000');
  v_candidates uuid[];
  v_uid uuid;
  v_bytes_before bigint;
  v_objects_before bigint;
  v_expired boolean;
  v_bytes bigint;
  v_objects bigint;
  v_before stowage.usage;
  v_dropped integer;
begin
  if not stowage.is_service_caller() then
    perform stowage.fail('SW403', 'forbidden', 'only the service role may reconcile');
  end if;
  if p_budget_ms is null or p_budget_ms < 1 then
    perform stowage.fail('SW400', 'invalid_request', 'the budget must be at least 1 ms');
  end if;
  users := '[]'::jsonb;
  checked := 0;
  next_cursor := p_cursor;
  -- The next users after the cursor, in id order (uuid order is the order of their text form).
  -- (Written as a range from v_lo with the cursor itself filtered out, so that each of the three
  -- reads is an index range scan whether or not there is a cursor.)
  select coalesce(array_agg(c.id order by c.id), '{}') into v_candidates
    from (
      select x.id from (
        (select a.id from auth.users a
          where a.id >= v_lo and a.id is distinct from p_cursor order by a.id limit v_limit)
        union
        (select u.user_id from stowage.usage u
          where u.user_id >= v_lo and u.user_id is distinct from p_cursor
          order by u.user_id limit v_limit)
        union
        (select r.user_id from stowage.reservations r
          where r.user_id >= v_lo and r.user_id is distinct from p_cursor
          order by r.user_id limit v_limit)
      ) x (id)
      order by x.id limit v_limit
    ) c;
  done := cardinality(v_candidates) < v_limit;
  foreach v_uid in array v_candidates loop
    -- Always at least one user per call, so every call makes progress.
    if checked > 0 and clock_timestamp() - v_start >= make_interval(secs => p_budget_ms / 1000.0) then
      done := false;
      exit;
    end if;
    select coalesce(u.bytes, 0), coalesce(u.objects, 0), t.bytes, t.objects,
           exists (select 1 from stowage.reservations r
                    where r.user_id = v_uid and r.live_until <= now())
      into v_bytes_before, v_objects_before, v_bytes, v_objects, v_expired
      from stowage.home_totals(v_uid) t
      left join stowage.usage u on u.user_id = v_uid;
    if v_expired or v_bytes_before <> v_bytes or v_objects_before <> v_objects then
      -- Drift: recompute under the user's lock, as stowage.reconcile(p_user_id) does. A write
      -- that landed since the check either committed (and is counted) or waits for the lock and
      -- then applies its own delta on top.
      v_before := stowage.lock_usage(v_uid);
      delete from stowage.reservations r where r.user_id = v_uid and r.live_until <= now();
      get diagnostics v_dropped = row_count;
      select t.bytes, t.objects into v_bytes, v_objects from stowage.home_totals(v_uid) t;
      if v_dropped > 0 or v_before.bytes <> v_bytes or v_before.objects <> v_objects then
        update stowage.usage u set bytes = v_bytes, objects = v_objects,
               updated_at = now()
         where u.user_id = v_uid;
        users := users || jsonb_build_object(
          'userId', v_uid,
          'bytesBefore', v_before.bytes,
          'bytesAfter', v_bytes,
          'objectsBefore', v_before.objects,
          'objectsAfter', v_objects,
          'droppedReservations', v_dropped);
      end if;
    end if;
    checked := checked + 1;
    next_cursor := v_uid;
  end loop;
  if done then
    next_cursor := null;
  end if;
end
$$;
comment on function stowage.reconcile_page(uuid, integer, integer) is
  'One page of a resumable reconcile over all users (id order, after p_cursor, within p_budget_ms '
  'and at most p_limit users): fixes drifted counters and drops expired reservations; returns the '
  'users fixed, how many were checked, the cursor to pass next, and whether the walk is done.';

revoke execute on function stowage.home_totals(uuid),
  stowage.reconcile_page(uuid, integer, integer) from public;
grant execute on function stowage.reconcile_page(uuid, integer, integer) to service_role;

-- stowage.reconcile, unchanged in what it does and answers; its per-user recompute now reads the
-- homes through stowage.home_totals (the index), where the join it had let the planner scan all
-- of storage.objects for one user (100 ms at 11k rows, seconds at 1M).
create or replace function stowage.reconcile(p_user_id uuid default null)
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
    select t.bytes, t.objects into v_bytes, v_objects from stowage.home_totals(v_uid) t;
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
