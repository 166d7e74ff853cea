-- Stowage, part 5: the voice assistant's reverse mapping (assistant id -> user, course) and the
-- assistant's last position per course. One row per user, so two concurrent saves cannot lose
-- one another (the seed app rewrote one shared JSON file); the lookup by assistant id is the
-- primary key: one indexed read, never a scan.

create function stowage.touch_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create table stowage.assistants (
  assistant_id text primary key check (length(assistant_id) between 1 and 200),
  user_id uuid not null unique references auth.users (id) on delete cascade,
  course_id text not null check (length(course_id) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table stowage.assistants is
  'Each user''s one voice assistant and its course; assistant ids are unique across users.';

create table stowage.assistant_positions (
  user_id uuid not null references auth.users (id) on delete cascade,
  course_id text not null check (length(course_id) between 1 and 200),
  last_position bigint not null default 0 check (last_position >= 0),
  updated_at timestamptz not null default now(),
  primary key (user_id, course_id)
);
comment on table stowage.assistant_positions is 'The assistant''s last position in a course, per user.';

create trigger assistants_touch_updated_at before update on stowage.assistants
  for each row execute function stowage.touch_updated_at();
create trigger assistant_positions_touch_updated_at before update on stowage.assistant_positions
  for each row execute function stowage.touch_updated_at();

alter table stowage.assistants enable row level security;
alter table stowage.assistant_positions enable row level security;

create policy assistants_own_select on stowage.assistants for select to authenticated
  using (user_id = (select auth.uid()));
create policy assistants_own_insert on stowage.assistants for insert to authenticated
  with check (user_id = (select auth.uid()));
create policy assistants_own_update on stowage.assistants for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy assistants_own_delete on stowage.assistants for delete to authenticated
  using (user_id = (select auth.uid()));

create policy positions_own_select on stowage.assistant_positions for select to authenticated
  using (user_id = (select auth.uid()));
create policy positions_own_insert on stowage.assistant_positions for insert to authenticated
  with check (user_id = (select auth.uid()));
create policy positions_own_update on stowage.assistant_positions for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy positions_own_delete on stowage.assistant_positions for delete to authenticated
  using (user_id = (select auth.uid()));

grant select, insert, update, delete on stowage.assistants, stowage.assistant_positions
  to authenticated, service_role;

revoke execute on all functions in schema stowage from public;
