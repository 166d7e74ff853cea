-- RLS update (move) and delete on storage.objects: owner, another user, anon, service role.
begin;
\ir ../fixture.psql

select plan(12);
set local storage.allow_delete_query = 'true';

set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', null, 3, 'text/plain', 'storage.object.upload'), 'ok', 'setup: a.txt');
select is(pg_temp.final_write(:'bucket', :'ahome' || 'b.txt', null, 4, 'text/plain', 'storage.object.upload'), 'ok', 'setup: b.txt');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.affected(format('update storage.objects set name = %L where bucket_id = %L and name = %L',
  :'ahome' || 'moved/a.txt', :'bucket', :'ahome' || 'a.txt')), 1, 'the owner moves an object within the home');
select is((select count(*)::int from storage.objects where bucket_id = :'bucket' and name = :'ahome' || 'moved/a.txt'), 1,
  'the object is at its new key');
select matches(pg_temp.err(format('update storage.objects set name = %L where bucket_id = %L and name = %L',
  :'bhome' || 'stolen.txt', :'bucket', :'ahome' || 'b.txt')), '^42501 new row violates row-level security',
  'the owner cannot move an object into another user''s home');
select set_config('request.jwt.claims', :'bob_claims', true);
select is(pg_temp.affected(format('update storage.objects set name = name || %L where bucket_id = %L', '.bob', :'bucket')), 0,
  'another user moves nothing');
select is(pg_temp.affected(format('delete from storage.objects where bucket_id = %L', :'bucket')), 0,
  'another user deletes nothing');
reset role;

set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is(pg_temp.affected(format('update storage.objects set name = name || %L where bucket_id = %L', '.anon', :'bucket')), 0,
  'anon moves nothing');
select is(pg_temp.affected(format('delete from storage.objects where bucket_id = %L', :'bucket')), 0, 'anon deletes nothing');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.affected(format('delete from storage.objects where bucket_id = %L and name = %L', :'bucket', :'ahome' || 'moved/a.txt')), 1,
  'the owner deletes their object');
reset role;

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(pg_temp.affected(format('delete from storage.objects where bucket_id = %L', :'bucket')), 1, 'the service role deletes anything');
reset role;
select is(pg_temp.usage(:'alice'), '0/0', 'counters are back to zero');

select * from finish();
rollback;
