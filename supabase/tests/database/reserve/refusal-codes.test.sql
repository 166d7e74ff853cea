-- stowage.reserve refuses with the coded SQLSTATEs of the contract.
begin;
\ir ../fixture.psql

select plan(20);

update storage.buckets set file_size_limit = 1000, allowed_mime_types = array['text/plain', 'image/*']
 where id = :'bucket';
insert into stowage.plans (id, quota_bytes, max_file_bytes) values ('tiny-test', 5000, 600);

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select matches(pg_temp.reserve(:'bucket', 'a/../b.txt', 1), '^SW400 invalid_path: ', '".." segment: SW400 invalid_path');
select matches(pg_temp.reserve(:'bucket', '/a.txt', 1), '^SW400 invalid_path: ', 'leading "/": SW400 invalid_path');
select matches(pg_temp.reserve(:'bucket', 'a//b.txt', 1), '^SW400 invalid_path: ', 'empty segment: SW400 invalid_path');
select matches(pg_temp.reserve(:'bucket', 'a/', 1), '^SW400 invalid_path: ', 'trailing "/": SW400 invalid_path');
select matches(pg_temp.reserve(:'bucket', 'caf' || chr(233) || '.txt', 1), '^SW400 invalid_path: ', 'non-ASCII: SW400 invalid_path');
select matches(pg_temp.reserve(:'bucket', 'a#b.txt', 1), '^SW400 invalid_path: ', '"#": SW400 invalid_path');
select matches(pg_temp.err(format('select stowage.reserve(%L, %L)', :'bucket', '[]')), '^SW400 invalid_request: ',
  'no files: SW400 invalid_request');
select matches(pg_temp.err(format('select stowage.reserve(%L, %L)', :'bucket',
  (select jsonb_agg(jsonb_build_object('path', 'f' || i, 'size', 1, 'contentType', 'text/plain')) from generate_series(1, 101) i))),
  '^SW400 invalid_request: ', '101 files: SW400 invalid_request');
select matches(pg_temp.err(format('select stowage.reserve(%L, %L)', :'bucket',
  '[{"path":"a.txt","size":1,"contentType":"text/plain"},{"path":"a.txt","size":1,"contentType":"text/plain"}]')),
  '^SW400 invalid_request: ', 'the same path twice: SW400 invalid_request');
select matches(pg_temp.err(format('select stowage.reserve(%L, %L)', :'bucket', '[{"path":"a.txt","size":-1,"contentType":"text/plain"}]')),
  '^SW400 invalid_request: ', 'a negative size: SW400 invalid_request');
select matches(pg_temp.reserve('no-such-bucket-' || :'bucket', 'a.txt', 1), '^SW404 not_found: ', 'unknown bucket: SW404 not_found');
select matches(pg_temp.reserve(:'bucket', 'big.txt', 1001), '^SW413 file_too_large: ', 'over the bucket limit: SW413 file_too_large');
select matches(pg_temp.reserve(:'bucket', 'a.mp3', 10, 'audio/mpeg'), '^SW415 unsupported_media_type: ',
  'a type the bucket does not allow: SW415 unsupported_media_type');
select matches(pg_temp.reserve(:'bucket', 'a.txt', 10, 'not a type'), '^SW415 unsupported_media_type: ',
  'a malformed type: SW415 unsupported_media_type');
select matches(pg_temp.reserve(:'bucket', 'a.txt', 10, 'text/plain', false, :'bob'), '^SW403 forbidden: ',
  'acting for another user: SW403 forbidden');
reset role;

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(pg_temp.final_write(:'bucket', :'ahome' || 'exists.txt', null, 10, 'text/plain', 'storage.object.upload'), 'ok',
  'setup: exists.txt');
select matches(pg_temp.reserve(:'bucket', 'a.txt', 1), '^SW400 invalid_request: ', 'the service role without a user id: SW400');
select matches(pg_temp.reserve(:'bucket', 'a.txt', 1, 'text/plain', false, gen_random_uuid()), '^SW404 not_found: ',
  'the service role for an unknown user: SW404');
select stowage.set_plan(:'alice', 'tiny-test');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select matches(pg_temp.reserve(:'bucket', 'exists.txt', 1), '^SW409 already_exists: ', 'an existing key without upsert: SW409');
select matches(pg_temp.reserve(:'bucket', 'b.txt', 601), '^SW413 file_too_large: ', 'over the plan''s file cap: SW413');
reset role;

select * from finish();
rollback;
