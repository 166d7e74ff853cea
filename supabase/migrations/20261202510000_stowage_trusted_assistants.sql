-- Stowage: assistant mappings are written by a trusted caller; paths ending in whitespace.
--
-- 1. In the LMS the backend creates the voice assistant and then records whose it is. Until
--    now any user could claim any unclaimed assistant id (squatting), and a refusal (409)
--    told whether an id was taken. Now the mapping is written by one function,
--    stowage.put_assistant(): the service role (the backend, acting for a named user) may
--    record any id; a user may only change the course of the id they already hold, unless
--    stowage.settings.users_claim_assistants is on (off by default). A user's refusal is one
--    403 whatever the id's state, so it tells nothing about which ids exist. Users keep
--    reading and deleting their own row (RLS); they lose direct INSERT/UPDATE.
-- 2. stowage.path_problem() refuses a path ending in whitespace, as the functions do: such a
--    key was reserved and then refused at signing (URL parsing drops a trailing space).

alter table stowage.settings
  add column users_claim_assistants boolean not null default false;
comment on column stowage.settings.users_claim_assistants is
  'When true, a signed-in user may claim an unclaimed assistant id for themselves (PUT /me with '
  'their own token). Off by default: the backend records mappings with the service key.';

-- ---------------------------------------------------------------------------
-- The one writer of stowage.assistants.
-- ---------------------------------------------------------------------------
create or replace function stowage.put_assistant(
  p_assistant_id text,
  p_course_id text,
  p_user_id uuid default null
)
returns stowage.assistants
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_user uuid := stowage.acting_user(p_user_id);
  v_service boolean := stowage.is_service_caller();
  v_current text;
  v_owner uuid;
  v_id text;
  v_row stowage.assistants;
begin
  if p_assistant_id is null or p_assistant_id !~ '^[\x21-\x7e]{1,200}$' then
    perform stowage.fail('SW400', 'invalid_request',
      'assistantId must be 1-200 printable ASCII characters without spaces');
  end if;
  if p_course_id is null or length(p_course_id) not between 1 and 200
     or p_course_id ~ '[\x01-\x1f\x7f]' then
    perform stowage.fail('SW400', 'invalid_request',
      'courseId must be 1-200 characters without control characters');
  end if;
  if not exists (select 1 from auth.users u where u.id = v_user) then
    perform stowage.fail('SW404', 'not_found', 'user "' || v_user || '" does not exist');
  end if;

  -- Requests of one user are serialised; then the ids touched (the user's current one and
  -- the new one) are locked in sorted order: two users swapping ids cannot deadlock.
  perform pg_advisory_xact_lock(hashtextextended('stowage.assistants:' || v_user, 0));
  select a.assistant_id into v_current from stowage.assistants a where a.user_id = v_user;
  for v_id in
    select distinct x collate "C" from unnest(array[p_assistant_id, v_current]) x
     where x is not null order by 1
  loop
    perform pg_advisory_xact_lock(hashtextextended('stowage.assistant-id:' || v_id, 0));
  end loop;

  select a.user_id into v_owner from stowage.assistants a where a.assistant_id = p_assistant_id;
  if v_owner = v_user then
    update stowage.assistants a set course_id = p_course_id
     where a.assistant_id = p_assistant_id
    returning a.* into v_row;
    return v_row;
  end if;

  if not v_service then
    -- One answer whether the id is free or another user's: a refusal reveals nothing.
    if not (select s.users_claim_assistants from stowage.settings s) or v_owner is not null then
      perform stowage.fail('SW403', 'forbidden',
        'assistant "' || p_assistant_id || '" can be recorded for you only by your app''s backend');
    end if;
  elsif v_owner is not null then
    -- The backend is trusted with the answer: it created the assistant.
    perform stowage.fail('SW409', 'assistant_taken',
      'assistant "' || p_assistant_id || '" belongs to another user');
  end if;

  delete from stowage.assistants a where a.user_id = v_user;
  insert into stowage.assistants (assistant_id, user_id, course_id)
  values (p_assistant_id, v_user, p_course_id)
  returning * into v_row;
  return v_row;
end
$$;
comment on function stowage.put_assistant(text, text, uuid) is
  'Records the user''s one assistant (replacing the previous one). Service role: any id, for '
  'p_user_id (409 assistant_taken when another user owns it). A user: only the id they hold, '
  'or a free id when settings.users_claim_assistants is on; every other case is one 403.';

revoke execute on function stowage.put_assistant(text, text, uuid) from public;
grant execute on function stowage.put_assistant(text, text, uuid) to authenticated, service_role;

-- Users no longer write rows directly: only through stowage.put_assistant (which checks the
-- setting). Reading and deleting their own row stay as they were.
revoke insert, update on stowage.assistants from authenticated;
drop policy if exists assistants_own_insert on stowage.assistants;
drop policy if exists assistants_own_update on stowage.assistants;

-- ---------------------------------------------------------------------------
-- Paths: a file path must not end in whitespace (the functions' pathProblem says the same).
-- ---------------------------------------------------------------------------
create or replace function stowage.path_problem(p_path text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when p_path is null or p_path = '' then 'the path is empty'
    when octet_length(p_path) > 900 then 'the path is longer than 900 bytes'
    when p_path !~ '^[A-Za-z0-9_/!.*''() &$=@;:+,?-]+$'
      then 'the path has a character outside the Storage key set'
    when starts_with(p_path, '/') or right(p_path, 1) = '/'
      then 'the path must not start or end with "/"'
    when p_path ~ '\s$' then 'the path must not end with a space'
    when strpos(p_path, '//') > 0 then 'the path has an empty segment'
    when strpos('/' || p_path || '/', '/./') > 0 or strpos('/' || p_path || '/', '/../') > 0
      then 'the path has a "." or ".." segment'
  end
$$;
