-- Plans: default free, set_plan for the service role only, refusals for unknown plans and users.
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

select plan(8);

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select results_eq('select plan, quota_bytes from stowage.quota()', $$values ('free', 524288000::bigint)$$,
  'a user without a plan row is on free (500 MiB)');
select matches(pg_temp.err(format('select stowage.set_plan(%L, %L)', :'alice', 'paid')), '^42501 permission denied for function set_plan',
  'users cannot change plans');
select matches(pg_temp.err(format('select * from stowage.quota(%L)', :'bob')), '^SW403 forbidden: ',
  'users cannot read another user''s quota');
reset role;

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(pg_temp.err(format('select stowage.set_plan(%L, %L)', :'alice', 'paid')), 'ok', 'the service role sets a plan');
select results_eq(format('select plan, quota_bytes from stowage.usage_of(%L)', :'alice'), $$values ('paid', 5368709120::bigint)$$,
  'the paid plan has 5 GiB');
select matches(pg_temp.err(format('select stowage.set_plan(%L, %L)', :'alice', 'platinum')), '^SW404 not_found: plan',
  'an unknown plan: SW404');
select matches(pg_temp.err(format('select stowage.set_plan(%L, %L)', gen_random_uuid(), 'paid')), '^SW404 not_found: user',
  'an unknown user: SW404');
select matches(pg_temp.err('select * from stowage.quota()'), '^SW400 invalid_request: ',
  'the service role must name the user');
reset role;

select * from finish();
rollback;
