-- stowage.home_owner: the one function that says whose home a key is in.
begin;
select plan(13);

select gen_random_uuid() as uid, 'stowage-test-' || substr(md5(random()::text), 1, 12) as bucket \gset
insert into storage.buckets (id, name) values (:'bucket', :'bucket');
insert into stowage.bucket_homes (bucket_id, home_template) values (:'bucket', 'user_data/{uid}/');

select is(stowage.home_owner(:'bucket', 'user_data/' || :'uid' || '/course/a.json'), :'uid'::uuid,
  'a key below user_data/<uid>/ belongs to <uid>');
select is(stowage.home_owner(:'bucket', 'user_data/' || :'uid' || '/x'), :'uid'::uuid,
  'a file directly in the home belongs to <uid>');
select is(stowage.home_owner(:'bucket', 'user_data/' || upper(:'uid') || '/x'), null,
  'an upper-case user id is not a home (no second prefix for the same user)');
select is(stowage.home_owner(:'bucket', 'userXdata/' || :'uid' || '/x'), null,
  '"_" is not a wildcard: userXdata/ is not user_data/');
select is(stowage.home_owner(:'bucket', 'user_data/' || :'uid' || '/'), null,
  'the home folder itself has no owner (the rest must be non-empty)');
select is(stowage.home_owner(:'bucket', 'user_data/' || :'uid'), null, 'a key without the trailing "/" has no owner');
select is(stowage.home_owner(:'bucket', 'user_data/' || :'uid' || 'x/y'), null, 'a longer segment is not a home');
select is(stowage.home_owner(:'bucket', 'user_data/' || replace(:'uid', '-', '') || '/x'), null,
  'a non-canonical id (no dashes) is not a home');
select is(stowage.home_owner(:'bucket', 'other/' || :'uid' || '/x'), null, 'a key outside the home root has no owner');
select is(stowage.home_owner('no-such-bucket-' || :'bucket', 'user_data/' || :'uid' || '/x'), null,
  'an unmanaged bucket has no homes');
select is(stowage.home_owner('audiofiles', :'uid' || '/p/c/s/x.mp3'), :'uid'::uuid,
  'audiofiles homes are {uid}/');
select is(stowage.home_prefix(:'bucket', :'uid'), 'user_data/' || :'uid' || '/', 'home_prefix fills the template');
select is(stowage.home_prefix('no-such-bucket-' || :'bucket', :'uid'), null, 'home_prefix is NULL for an unmanaged bucket');

select * from finish();
rollback;
