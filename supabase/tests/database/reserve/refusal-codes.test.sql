-- stowage.reserve refuses with the coded SQLSTATEs of the contract.
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

select plan(20);

update storage.buckets set file_size_limit = 1000, allowed_mime_types = array['text/plain', 'image/*']
 where id = :'bucket';
insert into stowage.plans (id, quota_bytes, max_file_bytes) values ('tiny-test', 5000, 600);

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select matches(pg_temp.reserve(:'bucket', 'a/../b.txt', 1), '^SW400 invalid_path: ', '".." segment: SW400 invalid_path');
select matches(pg_temp.reserve(:'bucket', '/a.txt', 1), '^SW400 invalid_path: ', 'leading "/": SW400 invalid_path');
select matches(pg_temp.reserve(:'bucket', 'a//b.txt', 1), '^SW400 invalid_path: ', 'empty segment: SW400 invalid_path');
select matches(pg_temp.reserve(:'bucket', 'a/', 1), '^SW400 invalid_path: ', 'trailing "/": SW400 invalid_path');
select matches(pg_temp.reserve(:'bucket', 'caf' || chr(233) || '.txt', 1), '^SW400 invalid_path: ', 'non-ASCII: SW400 invalid_path');
select matches(pg_temp.reserve(:'bucket', 'a#b.txt', 1), '^SW400 invalid_path: ', '"#": SW400 invalid_path');
select matches(pg_temp.err(format('select stowage.reserve(%L, %L)', :'bucket', '[]')), '^SW400 invalid_request: ',
  'no files: SW400 invalid_request');
select matches(pg_temp.err(format('select stowage.reserve(%L, %L)', :'bucket',
  (select jsonb_agg(jsonb_build_object('path', 'f' || i, 'size', 1, 'contentType', 'text/plain')) from generate_series(1, 101) i))),
  '^SW400 invalid_request: ', '101 files: SW400 invalid_request');
select matches(pg_temp.err(format('select stowage.reserve(%L, %L)', :'bucket',
  '[{"path":"a.txt","size":1,"contentType":"text/plain"},{"path":"a.txt","size":1,"contentType":"text/plain"}]')),
  '^SW400 invalid_request: ', 'the same path twice: SW400 invalid_request');
select matches(pg_temp.err(format('select stowage.reserve(%L, %L)', :'bucket', '[{"path":"a.txt","size":-1,"contentType":"text/plain"}]')),
  '^SW400 invalid_request: ', 'a negative size: SW400 invalid_request');
select matches(pg_temp.reserve('no-such-bucket-' || :'bucket', 'a.txt', 1), '^SW404 not_found: ', 'unknown bucket: SW404 not_found');
select matches(pg_temp.reserve(:'bucket', 'big.txt', 1001), '^SW413 file_too_large: ', 'over the bucket limit: SW413 file_too_large');
select matches(pg_temp.reserve(:'bucket', 'a.mp3', 10, 'audio/mpeg'), '^SW415 unsupported_media_type: ',
  'a type the bucket does not allow: SW415 unsupported_media_type');
select matches(pg_temp.reserve(:'bucket', 'a.txt', 10, 'not a type'), '^SW415 unsupported_media_type: ',
  'a malformed type: SW415 unsupported_media_type');
select matches(pg_temp.reserve(:'bucket', 'a.txt', 10, 'text/plain', false, :'bob'), '^SW403 forbidden: ',
  'acting for another user: SW403 forbidden');
reset role;

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(pg_temp.final_write(:'bucket', :'ahome' || 'exists.txt', null, 10, 'text/plain', 'storage.object.upload'), 'ok',
  'setup: exists.txt');
select matches(pg_temp.reserve(:'bucket', 'a.txt', 1), '^SW400 invalid_request: ', 'the service role without a user id: SW400');
select matches(pg_temp.reserve(:'bucket', 'a.txt', 1, 'text/plain', false, gen_random_uuid()), '^SW404 not_found: ',
  'the service role for an unknown user: SW404');
select stowage.set_plan(:'alice', 'tiny-test');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select matches(pg_temp.reserve(:'bucket', 'exists.txt', 1), '^SW409 already_exists: ', 'an existing key without upsert: SW409');
select matches(pg_temp.reserve(:'bucket', 'b.txt', 601), '^SW413 file_too_large: ', 'over the plan''s file cap: SW413');
reset role;

select * from finish();
rollback;
