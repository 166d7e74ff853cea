-- stowage.reserve runs with generic plans (20261202800000): none of its statements is planned
-- again per call. (The key delete whose plan that was about is gone since 20261202900000, which
-- records reservations with an insert .. on conflict; index-plans.test.sql covers its plans.)
begin;
\ir ../fixture.psql

select plan(2);

select ok((select 'plan_cache_mode=force_generic_plan' = any (p.proconfig)
             from pg_proc p where p.oid = 'stowage.reserve(text,jsonb,boolean,uuid)'::regprocedure),
  'reserve() pins generic plans');
select ok((select 'search_path=""' = any (p.proconfig)
             from pg_proc p where p.oid = 'stowage.reserve(text,jsonb,boolean,uuid)'::regprocedure),
  'reserve() keeps its empty search_path');

select * from finish();
rollback;
