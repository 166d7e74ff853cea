-- Plans: default free, set_plan for the service role only, refusals for unknown plans and users.
begin;
\ir ../fixture.psql

select plan(8);

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select results_eq('select plan, quota_bytes from stowage.quota()', $$values ('free', 524288000::bigint)$$,
  'a user without a plan row is on free (500 MiB)');
select matches(pg_temp.err(format('select stowage.set_plan(%L, %L)', :'alice', 'paid')), '^42501 permission denied for function set_plan',
  'users cannot change plans');
select matches(pg_temp.err(format('select * from stowage.quota(%L)', :'bob')), '^SW403 forbidden: ',
  'users cannot read another user''s quota');
reset role;

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(pg_temp.err(format('select stowage.set_plan(%L, %L)', :'alice', 'paid')), 'ok', 'the service role sets a plan');
select results_eq(format('select plan, quota_bytes from stowage.usage_of(%L)', :'alice'), $$values ('paid', 5368709120::bigint)$$,
  'the paid plan has 5 GiB');
select matches(pg_temp.err(format('select stowage.set_plan(%L, %L)', :'alice', 'platinum')), '^SW404 not_found: plan',
  'an unknown plan: SW404');
select matches(pg_temp.err(format('select stowage.set_plan(%L, %L)', gen_random_uuid(), 'paid')), '^SW404 not_found: user',
  'an unknown user: SW404');
select matches(pg_temp.err('select * from stowage.quota()'), '^SW400 invalid_request: ',
  'the service role must name the user');
reset role;

select * from finish();
rollback;
