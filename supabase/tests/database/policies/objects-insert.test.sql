-- RLS insert on storage.objects: a live reservation of that user for that exact key is required.
begin;
\ir ../fixture.psql


select plan(7);

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'a.txt', 5), 'ok', 'alice reserves a.txt');
select is(pg_temp.permission_test(:'bucket', :'ahome' || 'a.txt', :'alice'), 'ok',
  'the owner''s permission test passes with a live reservation');
select matches(pg_temp.permission_test(:'bucket', :'ahome' || 'b.txt', :'alice'), '^42501 new row violates row-level security',
  'the owner''s permission test for an unreserved key is refused');
select matches(pg_temp.permission_test(:'bucket', 'home/' || upper(:'alice') || '/a.txt', :'alice'), '^42501 new row violates row-level security',
  'an upper-case spelling of the home does not match the reservation');
select set_config('request.jwt.claims', :'bob_claims', true);
select matches(pg_temp.permission_test(:'bucket', :'ahome' || 'a.txt', :'bob'), '^42501 new row violates row-level security',
  'another user cannot write the key alice reserved');
reset role;

set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select matches(pg_temp.permission_test(:'bucket', :'ahome' || 'a.txt', null), '^42501 new row violates row-level security',
  'anon cannot write');
reset role;

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(pg_temp.permission_test(:'bucket', :'ahome' || 'c.txt', null), 'ok', 'the service role bypasses RLS');
reset role;


select * from finish();
rollback;
