-- Assistants: ids unique across users, one per user, RLS to own rows, positions non-negative.
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

select plan(11);

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.affected(format('insert into stowage.assistants (assistant_id, user_id, course_id) values (%L, %L, %L)',
  'asst-' || :'alice', :'alice', 'course-1')), 1, 'a user maps their assistant');
select is(pg_temp.affected(format('insert into stowage.assistants (assistant_id, user_id, course_id) values (%L, %L, %L)
  on conflict (user_id) do update set assistant_id = excluded.assistant_id, course_id = excluded.course_id',
  'asst2-' || :'alice', :'alice', 'course-2')), 1, 'and replaces it atomically (one row per user)');
select matches(pg_temp.err(format('insert into stowage.assistants (assistant_id, user_id, course_id) values (%L, %L, %L)',
  'x-' || :'alice', :'bob', 'c')), '^42501 new row violates row-level security', 'a user cannot map for another user');
select is(pg_temp.affected(format('insert into stowage.assistant_positions (user_id, course_id, last_position) values (%L, %L, 42)',
  :'alice', 'course-2')), 1, 'a user saves a position');
select matches(pg_temp.err(format('insert into stowage.assistant_positions (user_id, course_id, last_position) values (%L, %L, -1)',
  :'alice', 'course-3')), '^23514 ', 'a negative position is refused');
select set_config('request.jwt.claims', :'bob_claims', true);
select matches(pg_temp.err(format('insert into stowage.assistants (assistant_id, user_id, course_id) values (%L, %L, %L)',
  'asst2-' || :'alice', :'bob', 'c')), '^23505 .*assistants_pkey', 'another user cannot take an assistant id in use');
select is((select count(*)::int from stowage.assistants), 0, 'another user sees no one else''s assistant');
select is((select count(*)::int from stowage.assistant_positions), 0, '... nor positions');
select is(pg_temp.affected('delete from stowage.assistants'), 0, '... and deletes nothing');
reset role;

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select results_eq(format('select user_id, course_id from stowage.assistants where assistant_id = %L', 'asst2-' || :'alice'),
  format('values (%L::uuid, %L::text)', :'alice', 'course-2'), 'the service role looks an assistant up by id');
reset role;
select ok((select indisprimary from pg_index where indrelid = 'stowage.assistants'::regclass
  and indkey[0] = (select attnum from pg_attribute where attrelid = 'stowage.assistants'::regclass and attname = 'assistant_id')),
  'the lookup by assistant id is the primary key');

select * from finish();
rollback;
