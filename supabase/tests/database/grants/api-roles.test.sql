-- Grants: anon gets nothing, authenticated exactly what the functions need; definer functions pin search_path.
begin;
\ir ../fixture.psql

select plan(8);

select ok(not has_schema_privilege('anon', 'stowage', 'usage'), 'anon has no usage on schema stowage');
select ok(not has_table_privilege('authenticated', 'stowage.usage', 'select'), 'authenticated cannot read the counters');
select ok(not has_table_privilege('authenticated', 'stowage.reservations', 'insert'), 'authenticated cannot write reservations');
select ok(not has_table_privilege('authenticated', 'stowage.plans', 'select'), 'authenticated cannot read plans directly');
select is(
  (select array_agg(p.proname::text order by p.proname) from pg_proc p
    where p.pronamespace = 'stowage'::regnamespace and has_function_privilege('authenticated', p.oid, 'execute')),
  array['acting_home', 'cancel_reservation', 'events_after', 'has_live_reservation', 'home_owner', 'home_prefix',
    'path_problem', 'put_assistant', 'quota', 'reserve'],
  'authenticated may execute exactly the functions it needs');
select is(
  (select array_agg(p.proname::text order by p.proname) from pg_proc p
    where p.pronamespace = 'stowage'::regnamespace and has_function_privilege('anon', p.oid, 'execute')),
  null, 'anon may execute none');
select is(
  (select array_agg(p.proname::text) from pg_proc p
    where p.pronamespace = 'stowage'::regnamespace and p.prosecdef
      and not coalesce(p.proconfig @> array['search_path=""'], false)),
  null, 'every security definer function has search_path = ''''');
select ok((select bool_and(not r.rolsuper) from pg_proc p join pg_roles r on r.oid = p.proowner
  where p.pronamespace = 'stowage'::regnamespace), 'no stowage function is owned by a superuser');

select * from finish();
rollback;
