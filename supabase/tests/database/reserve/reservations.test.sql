-- stowage.reserve records all-or-nothing reservations; cancel_reservation; expired ones hold nothing.
begin;
\ir ../fixture.psql

select plan(13);

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select results_eq(
  format($q$select path, name, size, content_type from stowage.reserve(%L,
    '[{"path":"c/a.txt","size":3,"contentType":"text/plain;charset=UTF-8"},{"path":"c/b.bin","size":4,"contentType":"application/octet-stream"}]')$q$,
    :'bucket'),
  format($q$values ('c/a.txt', %L, 3::bigint, 'text/plain;charset=UTF-8'), ('c/b.bin', %L, 4::bigint, 'application/octet-stream')$q$,
    :'ahome' || 'c/a.txt', :'ahome' || 'c/b.bin'),
  'reserve returns each home-relative path, full key, size and the content type to send');
select ok((select expires_at > now() + interval '119 minutes' and expires_at <= now() + interval '2 hours'
  from stowage.reserve(:'bucket', '[{"path":"c/e.txt","size":1,"contentType":"text/plain"}]')),
  'expires_at is the signed upload URL''s expiry (two hours)');
select ok((select reservation_expires_at = expires_at + interval '1 hour'
  from stowage.reserve(:'bucket', '[{"path":"c/e.txt","size":1,"contentType":"text/plain"}]')),
  'reservation_expires_at is a grace period (one hour) later');
select is((select reserved_bytes from stowage.quota()), 8::bigint, 'quota() counts the reserved bytes');
select matches(pg_temp.err(format('select stowage.reserve(%L, %L)', :'bucket',
  '[{"path":"c/ok.txt","size":1,"contentType":"text/plain"},{"path":"../bad","size":1,"contentType":"text/plain"}]')),
  '^SW400 invalid_path', 'a batch with one bad file is refused');
select is((select reserved_bytes from stowage.quota()), 8::bigint, '... and reserves none of it (all or nothing)');
select is(pg_temp.err(format('select stowage.cancel_reservation(%L, %L)', :'bucket', 'c/a.txt')), 'ok', 'cancel a reservation');
select is((select reserved_bytes from stowage.quota()), 5::bigint, 'its bytes are released');
select matches(pg_temp.err(format('select stowage.cancel_reservation(%L, %L)', :'bucket', 'c/a.txt')), '^SW404 not_found: ',
  'cancelling it again: SW404 not_found');
select set_config('request.jwt.claims', :'bob_claims', true);
select matches(pg_temp.err(format('select stowage.cancel_reservation(%L, %L)', :'bucket', 'c/b.bin')), '^SW404 not_found: ',
  'another user cannot cancel it (their home has no such reservation)');
reset role;

select is((select live_until - created_at from stowage.reservations where bucket_id = :'bucket' and name = :'ahome' || 'c/b.bin'),
  interval '3 hours', 'a reservation lives for the URL lifetime plus one hour of grace');
update stowage.reservations set live_until = now() - interval '1 second' where bucket_id = :'bucket' and user_id = :'alice';
set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is((select reserved_bytes from stowage.quota()), 0::bigint, 'expired reservations hold no quota');
select matches(pg_temp.permission_test(:'bucket', :'ahome' || 'c/b.bin', :'alice'), '^42501 new row violates row-level security',
  'an expired reservation no longer allows the write');
reset role;

select * from finish();
rollback;
