-- Stowage, part 4: RLS policies and triggers on storage.objects (DESIGN "Security model",
-- "Quota model"). A hosted project lets postgres create exactly these two kinds of objects there.
--
-- What an upload looks like from here (STORAGE_API_FACTS §1.1, §4): a permission-test INSERT as
-- the caller (metadata without `size`, rolled back), then a final INSERT ... ON CONFLICT DO UPDATE
-- as service_role, where auth.uid() is NULL and NEW.owner_id (the caller's sub, or NULL for the
-- service key) is the only identity on the row. An overwrite fires BEFORE INSERT on the proposed
-- row, then BEFORE UPDATE and AFTER UPDATE on the existing one (no AFTER INSERT).
-- The triggers never read request.headers: on a signed PUT it holds an unverified Authorization.

-- ---------------------------------------------------------------------------
-- Policies: select, delete and move inside one's home; insert/overwrite needs a live reservation.
-- They grant nothing outside managed buckets (home_owner is NULL there), so every other bucket
-- keeps whatever policies the project has. Anon gets nothing; service_role bypasses RLS.
-- ---------------------------------------------------------------------------

-- Whether `p_user_id` holds a live reservation for exactly this key, in their own home.
create function stowage.has_live_reservation(p_bucket_id text, p_name text, p_user_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select p_user_id is not null
     and stowage.home_owner(p_bucket_id, p_name) = p_user_id
     and exists (
       select 1 from stowage.reservations r
        where r.bucket_id = p_bucket_id and r.name = p_name
          and r.user_id = p_user_id and r.live_until > now())
$$;
comment on function stowage.has_live_reservation(text, text, uuid) is
  'True when the user has a live upload reservation for this exact key in their home.';

create policy stowage_home_select on storage.objects
  for select to authenticated
  using (stowage.home_owner(bucket_id, name) = (select auth.uid()));

create policy stowage_home_delete on storage.objects
  for delete to authenticated
  using (stowage.home_owner(bucket_id, name) = (select auth.uid()));

create policy stowage_home_update on storage.objects
  for update to authenticated
  using (stowage.home_owner(bucket_id, name) = (select auth.uid()))
  with check (stowage.home_owner(bucket_id, name) = (select auth.uid()));

create policy stowage_home_insert on storage.objects
  for insert to authenticated
  with check (stowage.has_live_reservation(bucket_id, name, (select auth.uid())));

-- ---------------------------------------------------------------------------
-- BEFORE INSERT: judges every upload, and only it.
-- ---------------------------------------------------------------------------
create function stowage.objects_before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_owner uuid := stowage.home_owner(new.bucket_id, new.name);
  v_res stowage.reservations;
  v_size bigint;
  v_sent text;
  v_role text := coalesce(nullif(current_setting('role', true), ''), 'none');
begin
  if v_owner is null then
    return new;  -- not in a home: plain Supabase
  end if;
  -- Lock order as in stowage.reserve(): the usage row first, then the reservation.
  perform stowage.lock_usage(v_owner);
  -- The update half of an upsert must not be judged a second time (see the BEFORE UPDATE).
  perform set_config('stowage.inserting', new.bucket_id || '/' || new.name, true);

  -- 1. The server's permission test carries no size (RLS already required the reservation).
  if new.metadata is null or not (new.metadata ? 'size') then
    return new;
  end if;

  v_size := stowage.object_size(new.metadata);
  select * into v_res from stowage.reservations r
   where r.bucket_id = new.bucket_id and r.name = new.name
     and r.user_id = v_owner and r.live_until > now()
     for update;

  -- 2. A live reservation: held to its declared size and type, then consumed. A refusal leaves
  --    it open, so the client can retry with the same token.
  if found then
    if v_size > v_res.size then
      raise exception using errcode = '42501',
        message = 'upload_too_large: ' || v_size || ' bytes > declared ' || v_res.size;
    end if;
    v_sent := coalesce(new.metadata ->> 'mimetype', '');
    if lower(btrim(split_part(v_sent, ';', 1))) <> lower(btrim(split_part(v_res.content_type, ';', 1))) then
      raise exception using errcode = '42501',
        message = 'unsupported_media_type: "' || v_sent || '" sent, "' || v_res.content_type || '" declared';
    end if;
    delete from stowage.reservations r where r.id = v_res.id;
    return new;
  end if;

  -- 3. No reservation: a user's upload (owner set), any signed upload (a replayed token, a URL
  --    a backend signed with the service key) or a write made as an API user is refused.
  if new.owner_id is not null
     or current_setting('storage.operation', true) = 'storage.object.upload_signed'
     or v_role in ('authenticated', 'anon') then
    raise exception using errcode = '42501',
      message = 'no_reservation: no live upload reservation for "' || new.name || '"';
  end if;

  -- 4. The service role writing directly (the migration CLI, an admin): allowed, and counted.
  return new;
end
$$;

-- ---------------------------------------------------------------------------
-- BEFORE UPDATE: moves and the update half of an upsert pass; API users may not edit sizes.
-- ---------------------------------------------------------------------------
create function stowage.objects_before_update()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := coalesce(nullif(current_setting('role', true), ''), 'none');
  v_upsert boolean;
begin
  if stowage.home_owner(old.bucket_id, old.name) is null
     and stowage.home_owner(new.bucket_id, new.name) is null then
    return new;
  end if;
  v_upsert := current_setting('stowage.inserting', true) = old.bucket_id || '/' || old.name;
  if v_upsert then
    perform set_config('stowage.inserting', '', true);
    return new;
  end if;
  if new.bucket_id is distinct from old.bucket_id or new.name is distinct from old.name then
    return new;  -- a move: RLS keeps a user's inside their home; counters follow it
  end if;
  if v_role in ('authenticated', 'anon')
     and stowage.object_size(new.metadata) <> stowage.object_size(old.metadata) then
    raise exception using errcode = '42501',
      message = 'forbidden: the size of "' || old.name || '" can change only by an upload';
  end if;
  return new;
end
$$;

-- ---------------------------------------------------------------------------
-- AFTER triggers: the counters. Insert +size, overwrite +delta, delete -size, a move shifts
-- bytes from the old home to the new one.
-- ---------------------------------------------------------------------------
create function stowage.add_usage(p_user_id uuid, p_bytes bigint, p_objects bigint)
returns void
language sql
set search_path = ''
as $$
  insert into stowage.usage as u (user_id, bytes, objects) values (p_user_id, p_bytes, p_objects)
  on conflict (user_id) do update
    set bytes = u.bytes + excluded.bytes, objects = u.objects + excluded.objects, updated_at = now()
$$;

create function stowage.objects_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_owner uuid := stowage.home_owner(new.bucket_id, new.name);
begin
  if v_owner is not null then
    perform set_config('stowage.inserting', '', true);
    perform stowage.add_usage(v_owner, stowage.object_size(new.metadata), 1);
  end if;
  return null;
end
$$;

create function stowage.objects_after_update()
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
  if v_old is not distinct from v_new then
    if v_new is not null and v_new_size <> v_old_size then
      perform stowage.add_usage(v_new, v_new_size - v_old_size, 0);
    end if;
    return null;
  end if;
  -- Two homes: lock in user-id order, as every multi-user path does.
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

-- Deletes are counted per statement (the Storage API removes up to 1000 keys in one).
create function stowage.objects_after_delete()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  r record;
begin
  for r in
    select x.owner, sum(x.size)::bigint as bytes, count(*) as objects
      from (select stowage.home_owner(d.bucket_id, d.name) as owner,
                   stowage.object_size(d.metadata) as size
              from deleted_rows d) x
     where x.owner is not null
     group by x.owner
     order by x.owner
  loop
    perform stowage.add_usage(r.owner, -r.bytes, -r.objects);
  end loop;
  return null;
end
$$;

-- BEFORE DELETE, per statement: a user's delete takes their usage row before any object row,
-- in the order every writer takes them (the usage row, then object rows). Without it a delete
-- (object rows first, the usage row in the AFTER trigger at statement end) and an overwrite of
-- the same key (the usage row in BEFORE INSERT, then the object row) deadlock. RLS keeps a
-- user's delete inside their own home, so the caller's row is the one the counters touch.
create function stowage.objects_before_delete()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is not null then
    perform 1 from stowage.usage u where u.user_id = v_uid for update;
  end if;
  return null;
end
$$;

create trigger stowage_objects_before_delete
  before delete on storage.objects
  for each statement execute function stowage.objects_before_delete();

create trigger stowage_objects_before_insert
  before insert on storage.objects
  for each row execute function stowage.objects_before_insert();

create trigger stowage_objects_before_update
  before update on storage.objects
  for each row execute function stowage.objects_before_update();

create trigger stowage_objects_after_insert
  after insert on storage.objects
  for each row execute function stowage.objects_after_insert();

create trigger stowage_objects_after_update
  after update on storage.objects
  for each row execute function stowage.objects_after_update();

create trigger stowage_objects_after_delete
  after delete on storage.objects
  referencing old table as deleted_rows
  for each statement execute function stowage.objects_after_delete();

-- Counters for objects that were already in the managed buckets when Stowage was installed.
insert into stowage.usage (user_id, bytes, objects)
select x.owner, sum(x.size), count(*)
  from (select stowage.home_owner(o.bucket_id, o.name) as owner,
               stowage.object_size(o.metadata) as size
          from storage.objects o
          join stowage.bucket_homes h on h.bucket_id = o.bucket_id) x
 where x.owner is not null
 group by x.owner
on conflict (user_id) do update set bytes = excluded.bytes, objects = excluded.objects;

revoke execute on all functions in schema stowage from public;
grant execute on function stowage.has_live_reservation(text, text, uuid) to authenticated, service_role;
