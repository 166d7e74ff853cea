-- Usage counters follow insert, overwrite (bigger, smaller), move and delete, attributed by home.
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

select plan(16);
set local storage.allow_delete_query = 'true';

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'a.txt', 100), 'ok', 'alice reserves a.txt');
reset role;
set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', :'bob', 100, 'text/plain', 'storage.object.upload'), 'ok',
  'insert (owner column says bob)');
reset role;
select is(pg_temp.usage(:'alice'), '100/1', 'insert adds the size to the home''s user, not the owner column');
select is(pg_temp.usage(:'bob'), '0/0', 'the owner column is ignored');

set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', null, 250, 'text/plain', 'storage.object.upload'), 'ok', 'overwrite bigger');
reset role;
select is(pg_temp.usage(:'alice'), '250/1', 'a bigger overwrite adds the difference');
set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', null, 40, 'text/plain', 'storage.object.upload'), 'ok', 'overwrite smaller');
reset role;
select is(pg_temp.usage(:'alice'), '40/1', 'a smaller overwrite subtracts the difference');

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.affected(format('update storage.objects set name = %L where bucket_id = %L', :'ahome' || 'b/a.txt', :'bucket')), 1,
  'move within the home');
reset role;
select is(pg_temp.usage(:'alice'), '40/1', 'a move within the home changes nothing');

set local role service_role;
select is(pg_temp.affected(format('update storage.objects set name = %L where bucket_id = %L', :'bhome' || 'a.txt', :'bucket')), 1,
  'the service role moves it to bob''s home');
reset role;
select is(pg_temp.usage(:'alice') || ' ' || pg_temp.usage(:'bob'), '0/0 40/1', 'a move between homes shifts bytes and objects');

set local role service_role;
select is(pg_temp.final_write(:'bucket', 'nobody/x.txt', null, 7, 'text/plain', 'storage.object.upload'), 'ok', 'an object outside every home');
select is(pg_temp.affected(format('delete from storage.objects where bucket_id = %L', :'bucket')), 2, 'delete everything');
reset role;
select is(pg_temp.usage(:'alice') || ' ' || pg_temp.usage(:'bob'), '0/0 0/0', 'delete subtracts size and count');
select ok(not exists (select 1 from stowage.usage where bytes <> 0 and user_id not in (select id from auth.users)
  and updated_at = now()), 'objects outside every home are counted for nobody');

select * from finish();
rollback;
