-- stowage.reconcile finds and fixes injected drift and drops expired reservations.
begin;
\ir ../fixture.psql

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
