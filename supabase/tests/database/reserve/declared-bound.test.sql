-- stowage.reserve judges the quota on the exact bytes the other live reservations hold: an
-- overwrite's reservation holds only its growth, though it declares the whole size. (Since
-- 20261202600000 the exact figure is computed only when the declared sizes do not fit: the
-- decisions and the numbers must be the same as always.)
begin;
\ir ../fixture.psql

select plan(5);
insert into stowage.plans (id, quota_bytes) values ('hundred-bound', 100);
select stowage.set_plan(:'alice', 'hundred-bound');

set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'big.txt', null, 60, 'text/plain', 'storage.object.upload'), 'ok',
  'setup: 60 bytes used');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'big.txt', 70, 'text/plain', true), 'ok',
  'an overwrite of 60 by 70 bytes holds 10 more (it declares 70)');
select is(pg_temp.reserve(:'bucket', 'new.txt', 30), 'ok',
  '60 used + 10 held + 30 = 100 fits, though 60 + 70 declared + 30 would not');
select matches(pg_temp.reserve(:'bucket', 'one-more.txt', 1), '^SW507 quota_exceeded: 101 bytes of 100 bytes$',
  'one byte over the exact figure is refused, with the exact numbers');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.quota_refusal_detail(:'bucket', 'r9.txt'),
  '{"quotaBytes":100,"usedBytes":60,"reservedBytes":40,"requestedBytes":5}'::jsonb,
  'DETAIL carries the exact reserved bytes (10 + 30), not the declared ones (70 + 30)');
reset role;

select * from finish();
rollback;
