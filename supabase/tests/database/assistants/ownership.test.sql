-- Assistants: ids unique across users, one per user, RLS to own rows, positions non-negative.
begin;
\ir ../fixture.psql

select plan(11);

-- Mappings are written by the backend (service role, acting for the user): see trusted-writes.
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is((stowage.put_assistant('asst-' || :'alice', 'course-1', :'alice')).user_id, :'alice'::uuid,
  'the backend maps a user''s assistant');
select is((stowage.put_assistant('asst2-' || :'alice', 'course-2', :'alice')).assistant_id, 'asst2-' || :'alice',
  'and replaces it atomically (one row per user)');
reset role;
set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select matches(pg_temp.err(format('insert into stowage.assistants (assistant_id, user_id, course_id) values (%L, %L, %L)',
  'x-' || :'alice', :'bob', 'c')), '^42501 ', 'a user cannot write a mapping directly (for anyone)');
select is(pg_temp.affected(format('insert into stowage.assistant_positions (user_id, course_id, last_position) values (%L, %L, 42)',
  :'alice', 'course-2')), 1, 'a user saves a position');
select matches(pg_temp.err(format('insert into stowage.assistant_positions (user_id, course_id, last_position) values (%L, %L, -1)',
  :'alice', 'course-3')), '^23514 ', 'a negative position is refused');
select set_config('request.jwt.claims', :'bob_claims', true);
select matches(pg_temp.err(format('select stowage.put_assistant(%L, %L)', 'asst2-' || :'alice', 'c')),
  '^SW403 ', 'another user cannot take an assistant id in use');
select is((select count(*)::int from stowage.assistants), 0, 'another user sees no one else''s assistant');
select is((select count(*)::int from stowage.assistant_positions), 0, '... nor positions');
select is(pg_temp.affected('delete from stowage.assistants'), 0, '... and deletes nothing');
reset role;

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select results_eq(format('select user_id, course_id from stowage.assistants where assistant_id = %L', 'asst2-' || :'alice'),
  format('values (%L::uuid, %L::text)', :'alice', 'course-2'), 'the service role looks an assistant up by id');
reset role;
select ok((select indisprimary from pg_index where indrelid = 'stowage.assistants'::regclass
  and indkey[0] = (select attnum from pg_attribute where attrelid = 'stowage.assistants'::regclass and attname = 'assistant_id')),
  'the lookup by assistant id is the primary key');

select * from finish();
rollback;
