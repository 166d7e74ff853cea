-- Usage counters follow insert, overwrite (bigger, smaller), move and delete, attributed by home.
begin;
\ir ../fixture.psql

select plan(16);
set local storage.allow_delete_query = 'true';

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.reserve(:'bucket', 'a.txt', 100), 'ok', 'alice reserves a.txt');
reset role;
set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', :'bob', 100, 'text/plain', 'storage.object.upload'), 'ok',
  'insert (owner column says bob)');
reset role;
select is(pg_temp.usage(:'alice'), '100/1', 'insert adds the size to the home''s user, not the owner column');
select is(pg_temp.usage(:'bob'), '0/0', 'the owner column is ignored');

set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', null, 250, 'text/plain', 'storage.object.upload'), 'ok', 'overwrite bigger');
reset role;
select is(pg_temp.usage(:'alice'), '250/1', 'a bigger overwrite adds the difference');
set local role service_role;
select is(pg_temp.final_write(:'bucket', :'ahome' || 'a.txt', null, 40, 'text/plain', 'storage.object.upload'), 'ok', 'overwrite smaller');
reset role;
select is(pg_temp.usage(:'alice'), '40/1', 'a smaller overwrite subtracts the difference');

set local role authenticated;
select set_config('request.jwt.claims', :'alice_claims', true);
select is(pg_temp.affected(format('update storage.objects set name = %L where bucket_id = %L', :'ahome' || 'b/a.txt', :'bucket')), 1,
  'move within the home');
reset role;
select is(pg_temp.usage(:'alice'), '40/1', 'a move within the home changes nothing');

set local role service_role;
select is(pg_temp.affected(format('update storage.objects set name = %L where bucket_id = %L', :'bhome' || 'a.txt', :'bucket')), 1,
  'the service role moves it to bob''s home');
reset role;
select is(pg_temp.usage(:'alice') || ' ' || pg_temp.usage(:'bob'), '0/0 40/1', 'a move between homes shifts bytes and objects');

set local role service_role;
select is(pg_temp.final_write(:'bucket', 'nobody/x.txt', null, 7, 'text/plain', 'storage.object.upload'), 'ok', 'an object outside every home');
select is(pg_temp.affected(format('delete from storage.objects where bucket_id = %L', :'bucket')), 2, 'delete everything');
reset role;
select is(pg_temp.usage(:'alice') || ' ' || pg_temp.usage(:'bob'), '0/0 0/0', 'delete subtracts size and count');
select ok(not exists (select 1 from stowage.usage where bytes <> 0 and user_id not in (select id from auth.users)
  and updated_at = now()), 'objects outside every home are counted for nobody');

select * from finish();
rollback;
