-- stowage.reconcile_page walks users in id order from a cursor: a page stops at its limit and
-- returns the cursor to continue from; a resumed walk fixes the rest; counters end exact.
begin;
\ir ../fixture.psql

select plan(15);

set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', null, 100, 'text/plain', 'storage.object.upload'), 'ok', 'setup: alice a.txt');
select is(pg_temp.final_write(:'bucket', :'ahome' || 'b/c.txt', null, 20, 'text/plain', 'storage.object.upload'), 'ok', 'setup: alice b/c.txt');
select is(pg_temp.final_write(:'bucket', :'bhome' || 'x.txt', null, 3, 'text/plain', 'storage.object.upload'), 'ok', 'setup: bob x.txt');
reset role;

-- Drift, as a bug or a manual edit would leave it: alice off by 5 bytes and holding an expired
-- reservation, bob without a counter row at all.
update stowage.usage set bytes = bytes + 5 where user_id = :'alice';
delete from stowage.usage where user_id = :'bob';
insert into stowage.reservations (user_id, bucket_id, name, size, content_type, live_until)
values (:'alice', :'bucket', :'ahome' || 'late.txt', 9, 'text/plain', now() - interval '1 minute');

-- The cursor just before the first of the two (the walk's order: ids of auth.users, usage and
-- reservations), and the second of them.
select coalesce((select x.id::text from (
  select id from auth.users where id < least(:'alice'::uuid, :'bob'::uuid)
  union select user_id from stowage.usage where user_id < least(:'alice'::uuid, :'bob'::uuid)
  union select user_id from stowage.reservations where user_id < least(:'alice'::uuid, :'bob'::uuid)
) x(id) order by x.id desc limit 1), '') as before \gset
select least(:'alice'::uuid, :'bob'::uuid) as first, greatest(:'alice'::uuid, :'bob'::uuid) as second \gset

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
create temp table page1 as select * from stowage.reconcile_page(nullif(:'before', '')::uuid, 1000, 1);
select results_eq('select checked, next_cursor, done from page1',
  format('values (1, %L::uuid, false)', :'first'),
  'a page of one user: checked 1, the cursor is that user, not done');
select is((select jsonb_array_length(users) from page1), 1, 'the first user was drifted and is reported');
reset role;
select is(pg_temp.usage(:'first'), case when :'first' = :'alice' then '120/2' else '3/1' end,
  'the first user''s counters are exact');
select is(pg_temp.usage(:'second'), case when :'second' = :'alice' then '125/2' else '0/0' end,
  'the second user is not reached yet');

-- Resume from the cursor until done.
set local role service_role;
create temp table fixed (u jsonb);
do $$
declare
  v_cursor uuid := (select next_cursor from page1);
  v_page record;
  v_calls integer := 0;
begin
  loop
    select * into v_page from stowage.reconcile_page(v_cursor, 1000, 2);
    insert into fixed select jsonb_array_elements(v_page.users);
    v_calls := v_calls + 1;
    exit when v_page.done or v_calls > 100000;
    if v_page.checked < 1 then raise exception 'no progress'; end if;
    v_cursor := v_page.next_cursor;
  end loop;
end $$;
reset role;
select is((select count(*)::int from fixed where (u ->> 'userId')::uuid = :'second'), 1,
  'the resumed walk fixes the second user');
select is((select count(*)::int from fixed where (u ->> 'userId')::uuid = :'first'), 0,
  'and does not revisit the first');
select is(pg_temp.usage(:'alice'), '120/2', 'alice''s counters are exact');
select is(pg_temp.usage(:'bob'), '3/1', 'bob has a counter row again, exact');
select is((select count(*)::int from stowage.reservations where user_id = :'alice'), 0,
  'the expired reservation is gone');

set local role service_role;
select is((select users from stowage.reconcile_page(nullif(:'before', '')::uuid, 1000, 2)), '[]'::jsonb,
  'a second walk over them finds nothing to fix');
select matches(pg_temp.err('select * from stowage.reconcile_page(null, 0)'), '^SW400 invalid_request',
  'a budget below 1 ms is refused');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select matches(pg_temp.err('select * from stowage.reconcile_page()'),
  '^42501 permission denied for function reconcile_page', 'users may not reconcile');
reset role;

select * from finish();
rollback;
