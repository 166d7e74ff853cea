-- BEFORE INSERT judges uploads: permission test passes, final write held to the reservation, no_reservation refusals.
begin;
\ir ../fixture.psql

select plan(16);

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'a.txt', 10), 'ok', 'alice reserves 10 bytes of text/plain');
select is(pg_temp.permission_test(:'bucket', :'ahome' || 'a.txt', :'alice'), 'ok', 'the permission test passes');
reset role;
select is((select count(*)::int from stowage.reservations where bucket_id = :'bucket'), 1, '... and consumes nothing');

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', :'alice', 11), '42501 upload_too_large: 11 bytes > declared 10',
  'a final write larger than declared: 42501 upload_too_large');
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', :'alice', 5, 'image/png'),
  '42501 unsupported_media_type: "image/png" sent, "text/plain" declared', 'another type than declared: 42501 unsupported_media_type');
reset role;
select is((select count(*)::int from stowage.reservations where bucket_id = :'bucket'), 1, 'a refusal leaves the reservation open');
select is((select count(*)::int from storage.objects where bucket_id = :'bucket'), 0, '... and no row');

set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', :'alice', 10, 'text/plain; charset=utf-8'), 'ok',
  'the declared size passes (type compared without parameters, case-insensitively)');
reset role;
select is((select count(*)::int from stowage.reservations where bucket_id = :'bucket'), 0, 'the reservation is consumed');

set local role service_role;
select matches(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', :'alice', 10), '^42501 no_reservation: ',
  'a replayed signed upload: 42501 no_reservation');
select matches(pg_temp.final_write(:'bucket', :'ahome' || 'b.txt', :'alice', 1, 'text/plain', 'storage.object.upload'),
  '^42501 no_reservation: ', 'a user''s upload (owner_id set) without reservation: 42501 no_reservation');
select matches(pg_temp.final_write(:'bucket', :'ahome' || 'c.txt', null, 1), '^42501 no_reservation: ',
  'a URL signed with the service key, without reservation: 42501 no_reservation');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'c.txt', 5), 'ok', 'alice reserves c.txt');
reset role;
set local role service_role;
select matches(pg_temp.final_write(:'bucket', :'ahome' || 'c.txt', null, 6), '^42501 upload_too_large: ',
  'a URL signed with the service key is held to the user''s reservation');
select is(pg_temp.final_write(:'bucket', :'ahome' || 'd.txt', null, 7, 'text/plain', 'storage.object.upload'), 'ok',
  'the service role writing directly passes without reservation');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select matches(pg_temp.final_write(:'bucket', :'ahome' || 'e.txt', :'alice', 1, 'text/plain', 'storage.object.upload'),
  '^42501 ', 'a write with a size made as the user without reservation is refused');
reset role;

select * from finish();
rollback;
