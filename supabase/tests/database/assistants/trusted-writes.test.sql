-- Assistant mappings are written by a trusted caller (the service role acting for a user);
-- users claim ids only when settings.users_claim_assistants is on, and a user's refusal is the
-- same 403 whether the id is free or taken.
begin;
\ir ../fixture.psql

select plan(20);

select is((select users_claim_assistants from stowage.settings), false, 'users may not claim ids by default');

-- The backend (service role) records mappings for a named user.
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is((stowage.put_assistant('asst-a-' || :'alice', 'c1', :'alice')).user_id, :'alice'::uuid,
  'the service role records a mapping for a user');
select is((stowage.put_assistant('asst-a2-' || :'alice', 'c2', :'alice')).assistant_id, 'asst-a2-' || :'alice',
  'and replaces it');
select is((select count(*)::int from stowage.assistants where user_id = :'alice'), 1, 'one row per user');
select matches(pg_temp.err(format('select stowage.put_assistant(%L, %L, %L)', 'asst-a2-' || :'alice', 'c', :'bob')),
  '^SW409 assistant_taken: ', 'the service role is told the id belongs to another user (409)');
select matches(pg_temp.err(format('select stowage.put_assistant(%L, %L)', 'asst-x', 'c')),
  '^SW400 invalid_request: ', 'the service role must name the user');
select matches(pg_temp.err(format('select stowage.put_assistant(%L, %L, %L)', 'asst-x', 'c', gen_random_uuid())),
  '^SW404 not_found: ', 'an unknown user is 404');
select matches(pg_temp.err(format('select stowage.put_assistant(%L, %L, %L)', 'has space', 'c', :'bob')),
  '^SW400 invalid_request: ', 'an id with a space is refused');
reset role;

-- A user, setting off: only the course of the id they already hold.
set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is((stowage.put_assistant('asst-a2-' || :'alice', 'c9')).course_id, 'c9',
  'a user changes the course of the id they hold');
select matches(pg_temp.err(format('select stowage.put_assistant(%L, %L)', 'free-' || :'alice', 'c')),
  '^SW403 forbidden: ', 'a user cannot claim a free id');
select set_config('request.jwt.claims', :'bob_claims', true);
select is(pg_temp.err(format('select stowage.put_assistant(%L, %L)', 'asst-a2-' || :'alice', 'c')),
  replace(pg_temp.err(format('select stowage.put_assistant(%L, %L)', 'free-' || :'bob', 'c')),
    'free-' || :'bob', 'asst-a2-' || :'alice'),
  'a taken id and a free id are refused with the same answer');
select matches(pg_temp.err(format('select stowage.put_assistant(%L, %L, %L)', 'x-' || :'bob', 'c', :'alice')),
  '^SW403 forbidden: ', 'a user cannot act for another user');
select matches(pg_temp.err(format('insert into stowage.assistants (assistant_id, user_id, course_id) values (%L, %L, %L)',
  'direct-' || :'bob', :'bob', 'c')), '^42501 ', 'a user cannot insert a mapping directly');
select matches(pg_temp.err(format('update stowage.assistants set assistant_id = %L', 'renamed-' || :'bob')),
  '^42501 ', 'nor update one directly');
reset role;

-- The setting on: a user claims a free id; a taken one is still the same 403.
update stowage.settings set users_claim_assistants = true;
set local role authenticated;
select set_config('request.jwt.claims', :'bob_claims', true);
select is((stowage.put_assistant('free-' || :'bob', 'c')).user_id, :'bob'::uuid,
  'with the setting on, a user claims a free id');
select matches(pg_temp.err(format('select stowage.put_assistant(%L, %L)', 'asst-a2-' || :'alice', 'c')),
  '^SW403 forbidden: ', 'but never another user''s id, and is told only 403');
select is((select count(*)::int from stowage.assistants), 1, 'a user still sees only their own row');
select is(pg_temp.affected('delete from stowage.assistants'), 1, 'and may delete it');
reset role;
select is((select user_id from stowage.assistants where assistant_id = 'asst-a2-' || :'alice'), :'alice'::uuid,
  'alice''s mapping is untouched by every refusal');
select is((select course_id from stowage.assistants where assistant_id = 'asst-a2-' || :'alice'), 'c9',
  'and keeps its course');

select * from finish();
rollback;
