-- stowage.reserve records all-or-nothing reservations; cancel_reservation; expired ones hold nothing.
begin;
-- Fixture: two fresh users (alice, bob) and a managed bucket of this test's own (homes home/{uid}/).
select gen_random_uuid() as alice, gen_random_uuid() as bob,
       'stowage-test-' || substr(md5(random()::text), 1, 12) as bucket \gset
insert into auth.users (id, email, aud, role) values
  (:'alice', 'alice-' || :'alice' || '@test.example', 'authenticated', 'authenticated'),
  (:'bob', 'bob-' || :'bob' || '@test.example', 'authenticated', 'authenticated');
insert into storage.buckets (id, name) values (:'bucket', :'bucket');
insert into stowage.bucket_homes (bucket_id, home_template) values (:'bucket', 'home/{uid}/');
select json_build_object('sub', :'alice', 'role', 'authenticated')::text as alice_claims,
       json_build_object('sub', :'bob', 'role', 'authenticated')::text as bob_claims,
       'home/' || :'alice' || '/' as ahome, 'home/' || :'bob' || '/' as bhome \gset

-- 'ok', or '<SQLSTATE> <message>' of what the statement raised.
create function pg_temp.err(p_sql text) returns text language plpgsql as $$
begin
  execute p_sql;
  return 'ok';
exception when others then
  return sqlstate || ' ' || sqlerrm;
end $$;

-- The Storage server's permission test: an insert (upsert: insert .. on conflict do update
-- returning *) as the current role, metadata without size, always rolled back.
create function pg_temp.permission_test(p_bucket text, p_name text, p_owner uuid, p_upsert boolean default false)
returns text language plpgsql as $$
begin
  begin
    if p_upsert then
      insert into storage.objects as o (bucket_id, name, owner, owner_id, metadata, version)
      values (p_bucket, p_name, p_owner, p_owner::text, '{"mimetype":"text/plain","contentLength":1}', '1')
      on conflict (name, bucket_id) do update set metadata = excluded.metadata, version = excluded.version
      returning o.id into strict p_name;
    else
      insert into storage.objects (bucket_id, name, owner, owner_id, metadata, version)
      values (p_bucket, p_name, p_owner, p_owner::text, '{"mimetype":"text/plain","contentLength":1}', '1');
    end if;
    raise exception 'permission test rolled back' using errcode = 'PT200';
  exception when sqlstate 'PT200' then
    return 'ok';
  end;
exception when others then
  return sqlstate || ' ' || sqlerrm;
end $$;

-- The Storage server's final write (as whatever role is current, normally service_role):
-- insert .. on conflict do update with the complete metadata. Returns 'ok' or the error.
create function pg_temp.final_write(p_bucket text, p_name text, p_owner uuid, p_size bigint,
  p_mime text default 'text/plain', p_operation text default 'storage.object.upload_signed')
returns text language plpgsql as $$
begin
  perform set_config('storage.operation', p_operation, true);
  insert into storage.objects (bucket_id, name, owner, owner_id, metadata, version)
  values (p_bucket, p_name, p_owner, p_owner::text,
    jsonb_build_object('size', p_size, 'mimetype', p_mime, 'contentLength', p_size), gen_random_uuid()::text)
  on conflict (name, bucket_id) do update
    set metadata = excluded.metadata, version = excluded.version,
        owner = coalesce(excluded.owner, storage.objects.owner),
        owner_id = coalesce(excluded.owner_id, storage.objects.owner_id);
  return 'ok';
exception when others then
  return sqlstate || ' ' || sqlerrm;
end $$;

-- Reserves one file as the current role/claims; returns 'ok' or the error.
create function pg_temp.reserve(p_bucket text, p_path text, p_size bigint,
  p_type text default 'text/plain', p_upsert boolean default false, p_user uuid default null)
returns text language plpgsql as $$
begin
  perform stowage.reserve(p_bucket,
    jsonb_build_array(jsonb_build_object('path', p_path, 'size', p_size, 'contentType', p_type)),
    p_upsert, p_user);
  return 'ok';
exception when others then
  return sqlstate || ' ' || sqlerrm;
end $$;

-- Rows changed by a statement (run as the current role).
create function pg_temp.affected(p_sql text) returns integer language plpgsql as $$
declare n integer;
begin
  execute p_sql;
  get diagnostics n = row_count;
  return n;
end $$;

-- Usage counters of a user as 'bytes/objects'.
create function pg_temp.usage(p_user uuid) returns text language sql as $$
  select coalesce((select u.bytes || '/' || u.objects from stowage.usage u where u.user_id = p_user), '0/0')
$$;
-- end of fixture

select plan(13);

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select results_eq(
  format($q$select path, name, size, content_type from stowage.reserve(%L,
    '[{"path":"c/a.txt","size":3,"contentType":"text/plain;charset=UTF-8"},{"path":"c/b.bin","size":4,"contentType":"application/octet-stream"}]')$q$,
    :'bucket'),
  format($q$values ('c/a.txt', %L, 3::bigint, 'text/plain;charset=UTF-8'), ('c/b.bin', %L, 4::bigint, 'application/octet-stream')$q$,
    :'ahome' || 'c/a.txt', :'ahome' || 'c/b.bin'),
  'reserve returns each home-relative path, full key, size and the content type to send');
select ok((select expires_at > now() + interval '119 minutes' and expires_at <= now() + interval '2 hours'
  from stowage.reserve(:'bucket', '[{"path":"c/e.txt","size":1,"contentType":"text/plain"}]')),
  'expires_at is the signed upload URL''s expiry (two hours)');
select ok((select reservation_expires_at = expires_at + interval '1 hour'
  from stowage.reserve(:'bucket', '[{"path":"c/e.txt","size":1,"contentType":"text/plain"}]')),
  'reservation_expires_at is a grace period (one hour) later');
select is((select reserved_bytes from stowage.quota()), 8::bigint, 'quota() counts the reserved bytes');
select matches(pg_temp.err(format('select stowage.reserve(%L, %L)', :'bucket',
  '[{"path":"c/ok.txt","size":1,"contentType":"text/plain"},{"path":"../bad","size":1,"contentType":"text/plain"}]')),
  '^SW400 invalid_path', 'a batch with one bad file is refused');
select is((select reserved_bytes from stowage.quota()), 8::bigint, '... and reserves none of it (all or nothing)');
select is(pg_temp.err(format('select stowage.cancel_reservation(%L, %L)', :'bucket', 'c/a.txt')), 'ok', 'cancel a reservation');
select is((select reserved_bytes from stowage.quota()), 5::bigint, 'its bytes are released');
select matches(pg_temp.err(format('select stowage.cancel_reservation(%L, %L)', :'bucket', 'c/a.txt')), '^SW404 not_found: ',
  'cancelling it again: SW404 not_found');
select set_config('request.jwt.claims', :'bob_claims', true);
select matches(pg_temp.err(format('select stowage.cancel_reservation(%L, %L)', :'bucket', 'c/b.bin')), '^SW404 not_found: ',
  'another user cannot cancel it (their home has no such reservation)');
reset role;

select is((select live_until - created_at from stowage.reservations where bucket_id = :'bucket' and name = :'ahome' || 'c/b.bin'),
  interval '3 hours', 'a reservation lives for the URL lifetime plus one hour of grace');
update stowage.reservations set live_until = now() - interval '1 second' where bucket_id = :'bucket' and user_id = :'alice';
set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is((select reserved_bytes from stowage.quota()), 0::bigint, 'expired reservations hold no quota');
select matches(pg_temp.permission_test(:'bucket', :'ahome' || 'c/b.bin', :'alice'), '^42501 new row violates row-level security',
  'an expired reservation no longer allows the write');
reset role;

select * from finish();
rollback;
