-- Stowage, part 6: reconcile() in one pass over storage.objects.
-- The first version recomputed every known user under their lock, each with its own scan:
-- with 105,000 objects and 36 users it took 6 s here (a minute on a loaded machine), past the
-- functions' statement timeout. Now one aggregate finds the users whose counters disagree (or
-- who hold expired reservations), and only those are recomputed exactly under their lock, so a
-- write that lands between the two steps is never mistaken for drift.
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
-- create or replace keeps the grants of part 3 (service_role only).
