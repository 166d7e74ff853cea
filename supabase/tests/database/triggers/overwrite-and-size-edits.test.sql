-- BEFORE UPDATE: the update half of an upsert and moves pass; users cannot edit sizes.
begin;
\ir ../fixture.psql

select plan(7);

set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', null, 10, 'text/plain', 'storage.object.upload'), 'ok', 'setup: a.txt');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'a.txt', 20, 'text/plain', true), 'ok', 'alice reserves an overwrite');
select is(pg_temp.permission_test(:'bucket', :'ahome' || 'a.txt', :'alice', true), 'ok',
  'the upsert permission test (insert, then the update half) passes');
select matches(pg_temp.err(format($q$update storage.objects set metadata = metadata || '{"size":1}' where bucket_id = %L$q$, :'bucket')),
  '^42501 forbidden: ', 'a user cannot change an object''s size by an update');
select is(pg_temp.affected(format($q$update storage.objects set user_metadata = '{"a":1}' where bucket_id = %L$q$, :'bucket')), 1,
  'other updates by the owner pass');
reset role;

set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', :'alice', 20), 'ok', 'the overwrite with the declared size passes');
reset role;
select is(pg_temp.usage(:'alice'), '20/1', 'the counters follow the overwrite');

select * from finish();
rollback;
