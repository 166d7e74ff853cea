-- stowage.reserve runs with generic plans (20261202800000): none of its statements is planned
-- again per call. The generic plan of its key delete uses the unique index once there are
-- reservations to speak of.
begin;
\ir ../fixture.psql

select plan(3);

select ok((select 'plan_cache_mode=force_generic_plan' = any (p.proconfig)
             from pg_proc p where p.oid = 'stowage.reserve(text,jsonb,boolean,uuid)'::regprocedure),
  'reserve() pins generic plans');
select ok((select 'search_path=""' = any (p.proconfig)
             from pg_proc p where p.oid = 'stowage.reserve(text,jsonb,boolean,uuid)'::regprocedure),
  'reserve() keeps its empty search_path');

-- A project with reservations: 2,000 live ones, analyzed.
insert into stowage.reservations (user_id, bucket_id, name, size, content_type, live_until)
select :'alice', :'bucket', :'ahome' || 'g/' || g, 1, 'text/plain', now() + interval '1 hour'
  from generate_series(1, 2000) g;
analyze stowage.reservations;
set local plan_cache_mode = force_generic_plan;
prepare key_delete(text, text[]) as
  delete from stowage.reservations r where r.bucket_id = $1 and r.name = any ($2);
create function pg_temp.key_delete_plan() returns setof text language plpgsql as $$
begin
  return query execute 'explain execute key_delete(''b'', array[''k''])';
end
$$;
select ok(exists (select 1 from pg_temp.key_delete_plan() l where l like '%reservations_bucket_id_name_key%'),
  'the generic plan of the key delete uses the (bucket_id, name) index');

select * from finish();
rollback;
