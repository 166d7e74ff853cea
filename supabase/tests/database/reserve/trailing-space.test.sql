-- A path ending in a space (or other trailing whitespace) is refused at reservation with
-- invalid_path, as the functions refuse it: URL parsing drops a trailing space, so such a key
-- would be reserved and then signed or uploaded as another key.
begin;
\ir ../fixture.psql

select plan(6);

select is(stowage.path_problem('a/b.txt '), 'the path must not end with a space', 'path_problem: trailing space');
select is(stowage.path_problem('a /b.txt'), null, 'a space inside a path is fine');
select is(stowage.path_problem('a.txt'), null, 'a plain path is fine');

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select matches(pg_temp.reserve(:'bucket', 'notes.txt ', 1), '^SW400 invalid_path: ', 'reserve: a trailing space is SW400 invalid_path');
select matches(pg_temp.reserve(:'bucket', 'dir/notes.txt   ', 1), '^SW400 invalid_path: ', 'reserve: trailing spaces after a folder too');
reset role;
select is((select count(*)::int from stowage.reservations where user_id = :'alice'), 0, 'nothing was reserved');

select * from finish();
rollback;
