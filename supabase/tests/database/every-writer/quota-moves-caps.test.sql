-- Every writer (issue 13): the quota checked when bytes land, a move held to the destination's
-- rules, the reservation cap and the plan's file cap, and no usage lock before object rows.
begin;
\ir ../fixture.psql

select plan(23);
set local storage.allow_delete_query = 'true';

-- A 1,000-byte plan for alice, a 1-file plan for bob; an audio-only bucket of 100 bytes a file.
insert into stowage.plans (id, quota_bytes) values ('t-1000-' || substr(:'alice', 1, 8), 1000);
select stowage.set_plan(:'alice', 't-1000-' || substr(:'alice', 1, 8));
insert into stowage.plans (id, quota_bytes, max_objects) values ('t-1f-' || substr(:'bob', 1, 8), 1000, 1);
select stowage.set_plan(:'bob', 't-1f-' || substr(:'bob', 1, 8));
select :'bucket' || '-audio' as audio \gset
insert into storage.buckets (id, name, file_size_limit, allowed_mime_types)
  values (:'audio', :'audio', 100, '{audio/*}');
insert into stowage.bucket_homes (bucket_id, home_template) values (:'audio', 'home/{uid}/');

-- 1. The quota when bytes land: an overwrite reserved at 0 more bytes, its old file moved away.
set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'old.txt', null, 900, 'text/plain', 'storage.object.upload'), 'ok',
  'the service role writes 900 bytes into alice''s home');
reset role;
set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'old.txt', 900, 'text/plain', true), 'ok', 'alice reserves an overwrite (charged 0)');
select is(pg_temp.affected(format('update storage.objects set name = %L where bucket_id = %L and name = %L',
  :'ahome' || 'away.txt', :'bucket', :'ahome' || 'old.txt')), 1, 'alice moves the old file away');
reset role;
set local role service_role;
select matches(pg_temp.final_write(:'bucket', :'ahome' || 'old.txt', :'alice', 900),
  '^42501 quota_exceeded: ', 'the signed PUT would bring her to 1,800 bytes: 42501 quota_exceeded');
reset role;
select is(pg_temp.usage(:'alice'), '900/1', 'usage stays at 900');
select is((select count(*)::int from stowage.reservations where user_id = :'alice'), 1,
  'the refusal leaves the reservation open');
set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'old.txt', :'alice', 100), 'ok',
  'a smaller upload that fits is accepted with the same reservation');
select is(pg_temp.final_write(:'bucket', :'ahome' || 'admin.txt', null, 5000, 'text/plain', 'storage.object.upload'), 'ok',
  'the service role writing directly is not held to the plan');
reset role;
select is(pg_temp.usage(:'alice'), '6000/3', 'counted all the same');

-- 2. Moves: the destination's types, size limits and the path rules.
set local role service_role;
select is(pg_temp.final_write(:'bucket', :'bhome' || 'page.html', null, 10, 'text/html', 'storage.object.upload'), 'ok', 'bob has a page');
select is(pg_temp.final_write(:'bucket', :'bhome' || 'big.mp3', null, 101, 'audio/mpeg', 'storage.object.upload'), 'ok', '... and a 101-byte mp3');
reset role;
set local role authenticated;
select set_config('request.jwt.claims', :'bob_claims', true);
select matches(pg_temp.err(format('update storage.objects set bucket_id = %L where bucket_id = %L and name = %L',
  :'audio', :'bucket', :'bhome' || 'page.html')), '^42501 unsupported_media_type: ',
  'text/html moved into the audio bucket: 42501 unsupported_media_type');
select matches(pg_temp.err(format('update storage.objects set bucket_id = %L where bucket_id = %L and name = %L',
  :'audio', :'bucket', :'bhome' || 'big.mp3')), '^42501 file_too_large: ',
  'past the bucket''s file_size_limit: 42501 file_too_large');
select matches(pg_temp.err(format('update storage.objects set name = %L where bucket_id = %L and name = %L',
  :'bhome' || 'd/', :'bucket', :'bhome' || 'page.html')), '^42501 invalid_path: ', 'a key ending in "/": invalid_path');
select matches(pg_temp.err(format('update storage.objects set name = %L where bucket_id = %L and name = %L',
  :'bhome' || 'a//b', :'bucket', :'bhome' || 'page.html')), '^42501 invalid_path: ', 'an empty segment: invalid_path');
select matches(pg_temp.err(format('update storage.objects set name = %L where bucket_id = %L and name = %L',
  :'bhome' || '../x', :'bucket', :'bhome' || 'page.html')), '^42501 invalid_path: ', 'a ".." segment: invalid_path');
select is(pg_temp.affected(format('update storage.objects set name = %L where bucket_id = %L and name = %L',
  :'bhome' || 'pages/page.html', :'bucket', :'bhome' || 'page.html')), 1, 'a rename within the rules passes');
reset role;
select is((select count(*)::int from storage.objects where bucket_id = :'audio'), 0, 'nothing reached the audio bucket');

-- 3. Caps: the plan's file count, live reservations.
set local role authenticated;
select set_config('request.jwt.claims', :'bob_claims', true);
select matches(pg_temp.reserve(:'bucket', 'third.txt', 1), '^SW507 quota_exceeded: ',
  'bob holds 2 files on a 1-file plan: a new file is refused (SW507)');
select is(pg_temp.reserve(:'bucket', 'big.mp3', 1, 'audio/mpeg', true), 'ok', '... an overwrite is not a new file');
reset role;
delete from storage.objects where bucket_id = :'bucket' and name = :'ahome' || 'admin.txt';
update stowage.settings set max_live_reservations = 1;
set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'r1.txt', 0), 'ok', 'alice''s one live reservation');
select matches(pg_temp.reserve(:'bucket', 'r2.txt', 0), '^SW429 too_many_reservations: ',
  'a second, past max_live_reservations: SW429 too_many_reservations');
reset role;

-- 4. Lock order: nothing takes the usage row before the object rows of a delete.
select hasnt_trigger('storage', 'objects', 'stowage_objects_before_delete',
  'no statement-level BEFORE DELETE lock of the usage row');

select * from finish();
rollback;
