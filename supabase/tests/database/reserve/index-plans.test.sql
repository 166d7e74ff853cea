-- The upload path's functions read reservations by index however small the table was when a
-- connection first planned them (20261202900000). PL/pgSQL keeps each statement's plan for the
-- connection's life; planned on an empty, analyzed table (what autovacuum leaves between
-- bursts), a lookup became a scan of the whole table (or of the bucket's whole index), kept
-- until the next analyze.
begin;
\ir ../fixture.psql

select plan(7);

-- Every function that turns index scans off also turns JIT off: a disabled scan that remains
-- the only path costs 1e10, which would send the statement to the JIT compiler.
select is(array(select p.oid::regprocedure::text from pg_proc p
                 where p.pronamespace = 'stowage'::regnamespace
                   and 'enable_seqscan=off' = any (p.proconfig)
                   and not ('jit=off' = any (p.proconfig))), '{}'::text[],
  'every function without sequential scans is without JIT too');

-- The reservations table as autovacuum leaves it after a quiet spell: empty, analyzed.
truncate stowage.reservations;
analyze stowage.reservations;

-- This connection's first reservation and first upload: their statements are planned now.
set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'first.txt', 5), 'ok', 'setup: a first reservation');
select is(pg_temp.permission_test(:'bucket', :'ahome' || 'first.txt', :'alice'), 'ok',
  'setup: its permission test');
reset role;
set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'first.txt', :'alice', 5), 'ok',
  'setup: its upload lands');
reset role;

-- A burst: 3,000 reservations of bob's arrive before autovacuum analyzes the table again.
insert into stowage.reservations (user_id, bucket_id, name, size, content_type, live_until)
select :'bob', :'bucket', :'bhome' || 'burst/' || g, 1, 'text/plain', now() + interval '1 hour'
  from generate_series(1, 3000) g;

-- Rows of the table read so far in this transaction, by scans and through indexes.
create function pg_temp.reservation_reads() returns bigint language sql as $$
  select coalesce(sum(seq_tup_read + coalesce(idx_tup_fetch, 0)), 0)::bigint
    from pg_stat_xact_user_tables where relid = 'stowage.reservations'::regclass
$$;
select pg_temp.reservation_reads() as reads_before \gset

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'second.txt', 5), 'ok', 'alice reserves again');
select permission_test as second_test from pg_temp.permission_test(:'bucket', :'ahome' || 'second.txt', :'alice') \gset
reset role;
set local role service_role;
select final_write as second_write from pg_temp.final_write(:'bucket', :'ahome' || 'second.txt', :'alice', 5) \gset
reset role;

select cmp_ok(pg_temp.reservation_reads() - :reads_before, '<', 20::bigint,
  'reserving, the permission test and the upload landing read their own reservations, not the burst''s 3,000');
select is(:'second_test' || '; ' || :'second_write', 'ok; ok', 'the second upload is tested and lands');

select * from finish();
rollback;
