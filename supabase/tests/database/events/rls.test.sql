-- Events: each user reads only their own rows under RLS (what Supabase Realtime's
-- postgres_changes checks per subscriber), the service role reads all, nobody writes them
-- through the API roles, the table is append-only, and permission tests leave no event.
begin;
\ir ../fixture.psql

select plan(21);

-- Events of both users, written as the Storage server's final writes and deletes are.
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', null, 3, 'text/plain', 'storage.object.upload'),
  'ok', 'a service-role write lands');
select is(pg_temp.final_write(:'bucket', :'bhome' || 'b.txt', null, 4, 'text/plain', 'storage.object.upload'),
  'ok', 'another user''s too');
reset role;
select is((select count(*)::int from stowage.events where bucket_id = :'bucket'), 2,
  'each write made one event');

select ok((select relrowsecurity from pg_class where oid = 'stowage.events'::regclass),
  'RLS is on');
select policies_are('stowage', 'events', array['events_own_select'], 'one policy: a user selects own');
select table_privs_are('stowage', 'events', 'authenticated', array['SELECT'],
  'authenticated may only select');
select table_privs_are('stowage', 'events', 'anon', array[]::text[], 'anon gets nothing');
select table_privs_are('stowage', 'events', 'service_role', array['SELECT'],
  'the service role may only select');

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select results_eq(format('select path, kind from stowage.events where bucket_id = %L', :'bucket'),
  $$values ('a.txt'::text, 'created'::text)$$, 'alice sees her event only');
select is((select count(*)::int from stowage.events where user_id = :'bob'), 0,
  'alice sees none of bob''s, even by asking');
select matches(pg_temp.err(format(
  'insert into stowage.events (user_id, bucket_id, path, name, kind) values (%L, %L, %L, %L, %L)',
  :'alice', :'bucket', 'f.txt', :'ahome' || 'f.txt', 'created')), '^42501 ', 'alice cannot insert events');
select matches(pg_temp.err('update stowage.events set size = 0'), '^42501 ', 'nor update them');
select matches(pg_temp.err('delete from stowage.events'), '^42501 ', 'nor delete them');
select matches(pg_temp.err(format('select * from stowage.events_after(0, 10, %L)', :'bob')),
  '^SW403 forbidden', 'events_after refuses a user naming another user');

select set_config('request.jwt.claims', :'bob_claims', true);
select results_eq(format('select path from stowage.events where bucket_id = %L', :'bucket'),
  $$values ('b.txt'::text)$$, 'bob sees his event only');
reset role;

set local role anon;
select matches(pg_temp.err('select * from stowage.events'), '^42501 ', 'anon cannot read events');
reset role;

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is((select count(*)::int from stowage.events where bucket_id = :'bucket'), 2,
  'the service role reads every user''s');
reset role;

-- Append-only even for the owner (deletes only through prune_events).
select matches(pg_temp.err(format('update stowage.events set size = 0 where bucket_id = %L', :'bucket')),
  '^42501 forbidden: stowage.events is append-only', 'no update, even as the owner');

-- The Storage server's permission test (as the user, without a size; always rolled back) writes
-- no event: upload signing pays nothing for events.
set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'p.txt', 5), 'ok', 'alice reserves');
-- Its shape, not rolled back here so the trigger's choice is visible.
select is(pg_temp.affected(format(
  'insert into storage.objects (bucket_id, name, owner, owner_id, metadata, version) values (%L, %L, %L, %L, %L, %L)',
  :'bucket', :'ahome' || 'p.txt', :'alice', :'alice', '{"mimetype":"text/plain","contentLength":5}', '1')), 1,
  'the permission test''s row is written');
reset role;
select is((select count(*)::int from stowage.events where bucket_id = :'bucket' and path = 'p.txt'), 0,
  'and leaves no event');

select * from finish();
rollback;
