-- RLS select on storage.objects: owner, another user, anon, service role.
begin;
\ir ../fixture.psql

select plan(7);

set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', null, 3, 'text/plain', 'storage.object.upload'), 'ok',
  'the service role writes an object into alice''s home');
select is(pg_temp.final_write(:'bucket', 'shared/x.txt', null, 1, 'text/plain', 'storage.object.upload'), 'ok',
  'the service role writes an object outside every home');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is((select count(*)::int from storage.objects where bucket_id = :'bucket' and name = :'ahome' || 'a.txt'), 1,
  'the owner sees the object in their home');
select is((select count(*)::int from storage.objects where bucket_id = :'bucket' and name = 'shared/x.txt'), 0,
  'an object outside the homes is invisible to users');
select set_config('request.jwt.claims', :'bob_claims', true);
select is((select count(*)::int from storage.objects where bucket_id = :'bucket'), 0, 'another user sees nothing');
reset role;

set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is((select count(*)::int from storage.objects where bucket_id = :'bucket'), 0, 'anon sees nothing');
reset role;

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is((select count(*)::int from storage.objects where bucket_id = :'bucket'), 2, 'the service role sees everything');
reset role;

select * from finish();
rollback;
