-- stowage.reconcile finds and fixes injected drift and drops expired reservations.
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

select plan(9);

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'r.txt', 5), 'ok', 'setup: a reservation');
reset role;
set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', null, 100, 'text/plain', 'storage.object.upload'), 'ok', 'setup: a.txt');
select is(pg_temp.final_write(:'bucket', :'ahome' || 'b/c.txt', null, 20, 'text/plain', 'storage.object.upload'), 'ok', 'setup: b/c.txt');
reset role;

update stowage.usage set bytes = 7, objects = 9 where user_id = :'alice';
update stowage.reservations set live_until = now() - interval '1 second' where bucket_id = :'bucket';

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select results_eq(format('select * from stowage.reconcile(%L)', :'alice'),
  format('values (%L::uuid, 7::bigint, 120::bigint, 9::bigint, 2::bigint, 1)', :'alice'),
  'reconcile(user) reports the drift and the dropped reservation');
reset role;
select is(pg_temp.usage(:'alice'), '120/2', 'the counters are fixed');
select is((select count(*)::int from stowage.reservations where bucket_id = :'bucket'), 0, 'the expired reservation is gone');

update stowage.usage set bytes = bytes + 1 where user_id = :'alice';
set local role service_role;
select ok((select count(*) = 1 and bool_and(bytes_before = 121 and bytes_after = 120) from stowage.reconcile()
  where user_id = :'alice'), 'reconcile() over everyone finds the drift');
select is((select count(*)::int from stowage.reconcile() where user_id = :'alice'), 0, 'a second run finds none');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select matches(pg_temp.err('select * from stowage.reconcile()'), '^42501 permission denied for function reconcile',
  'users may not reconcile');
reset role;

select * from finish();
rollback;
