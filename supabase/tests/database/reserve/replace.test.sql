-- A new reservation of a held key replaces the previous one whole (20261202900000 records it
-- with insert .. on conflict): one row, with the new size, type, upsert flag and lifetime, and
-- the upload is held to the new declaration.
begin;
\ir ../fixture.psql

select plan(6);

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'doc.txt', 10, 'text/plain', true), 'ok', 'setup: 10 bytes of text, upsert');
reset role;
-- The first reservation is an hour old and about to lapse.
update stowage.reservations set created_at = now() - interval '1 hour', live_until = now() + interval '1 minute'
 where bucket_id = :'bucket' and name = :'ahome' || 'doc.txt';

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'doc.txt', 20, 'application/json'), 'ok',
  'the same key again: 20 bytes of JSON, without upsert');
reset role;

select results_eq(
  format($q$select user_id, size, content_type, upsert, created_at = now(),
                   live_until - now() = interval '3 hours'
              from stowage.reservations where bucket_id = %L and name = %L$q$,
    :'bucket', :'ahome' || 'doc.txt'),
  format($q$values (%L::uuid, 20::bigint, 'application/json', false, true, true)$q$, :'alice'),
  'one reservation, the new one: size, type, upsert flag, created now, living its full lifetime');
select is((select reserved_bytes from stowage.quota(:'alice')), 20::bigint, 'it holds the new size only');

set local role service_role;
select matches(pg_temp.final_write(:'bucket', :'ahome' || 'doc.txt', :'alice', 20, 'text/plain'),
  'unsupported_media_type', 'an upload of the old type is refused');
select is(pg_temp.final_write(:'bucket', :'ahome' || 'doc.txt', :'alice', 20, 'application/json'), 'ok',
  'the new declaration lands');
reset role;

select * from finish();
rollback;
