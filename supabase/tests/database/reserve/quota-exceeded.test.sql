-- stowage.reserve refuses SW507 quota_exceeded with the numbers, counting used + live reservations.
begin;
\ir ../fixture.psql

select plan(8);
insert into stowage.plans (id, quota_bytes) values ('hundred-test', 100);
select stowage.set_plan(:'alice', 'hundred-test');

set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'used.txt', null, 30, 'text/plain', 'storage.object.upload'), 'ok',
  'setup: 30 bytes used');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'r1.txt', 40), 'ok', 'a 40-byte reservation fits (30 + 40 <= 100)');
select matches(pg_temp.reserve(:'bucket', 'r2.txt', 31), '^SW507 quota_exceeded: 101 bytes of 100 bytes$',
  'one byte too many: SW507 quota_exceeded "101 bytes of 100 bytes"');
select is(pg_temp.reserve(:'bucket', 'r2.txt', 30), 'ok', 'an exact fit passes');
select is(pg_temp.reserve(:'bucket', 'r1.txt', 40), 'ok', 'reserving the same key again replaces it (no double counting)');
select is(pg_temp.reserve(:'bucket', 'used.txt', 30, 'text/plain', true), 'ok',
  'an overwrite of the same size costs nothing');
select matches(pg_temp.reserve(:'bucket', 'used.txt', 31, 'text/plain', true), '^SW507 quota_exceeded: ',
  'an overwrite is charged its growth');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.quota_refusal_detail(:'bucket', 'r3.txt'),
  '{"quotaBytes":100,"usedBytes":30,"reservedBytes":70,"requestedBytes":5}'::jsonb,
  'DETAIL carries quota, used, reserved and requested bytes');
reset role;

select * from finish();
rollback;
