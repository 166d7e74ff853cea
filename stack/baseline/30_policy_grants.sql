-- A plain-SQL stand-in for hosted Supabase's supautils "policy_grants" and
-- "drop_trigger_grants" (HOSTED_ROLES.md §6): postgres, which owns neither
-- storage.* nor auth.* tables, may still create, alter and drop RLS policies on
-- the listed tables and drop triggers on them. For one such statement postgres
-- is made a member of the table owners, and the membership is revoked when the
-- statement ends (GRANT is transactional, so a failed statement leaves nothing).
-- Anything else on those tables (indexes, ALTER TABLE, functions in the schemas)
-- still fails, as on hosted.
create schema if not exists _stowage_baseline authorization supabase_admin;
revoke all on schema _stowage_baseline from public;

create table if not exists _stowage_baseline.policy_grant_tables (
  table_name text primary key
);
insert into _stowage_baseline.policy_grant_tables (table_name) values
  ('storage.objects'), ('storage.buckets'), ('storage.s3_multipart_uploads'),
  ('storage.s3_multipart_uploads_parts'), ('auth.users'), ('auth.identities')
on conflict do nothing;

-- Whether the session is postgres itself, or a login that became postgres (db push's
-- cli_login_postgres does SET SESSION ROLE postgres).
create or replace function _stowage_baseline.is_postgres_session() returns boolean
language sql stable security definer set search_path = '' as $$
  select session_user = 'postgres'
      or pg_catalog.current_setting('role', true) = 'postgres'
$$;

create or replace function _stowage_baseline.grant_start() returns event_trigger
language plpgsql security definer set search_path = '' as $$
begin
  if _stowage_baseline.is_postgres_session() then
    grant supabase_storage_admin, supabase_auth_admin to postgres;
  end if;
end $$;

create or replace function _stowage_baseline.grant_end() returns event_trigger
language plpgsql security definer set search_path = '' as $$
declare
  cmd record;
  target text;
begin
  if not _stowage_baseline.is_postgres_session() then
    return;
  end if;
  revoke supabase_storage_admin, supabase_auth_admin from postgres;
  for cmd in select * from pg_catalog.pg_event_trigger_ddl_commands() loop
    if cmd.object_type = 'policy' then
      select pg_catalog.format('%I.%I', n.nspname, c.relname) into target
        from pg_catalog.pg_policy p
        join pg_catalog.pg_class c on c.oid = p.polrelid
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where p.oid = cmd.objid;
      if target like 'storage.%' or target like 'auth.%' then
        if not exists (select 1 from _stowage_baseline.policy_grant_tables t where t.table_name = target) then
          raise exception 'must be owner of table %', target using errcode = '42501';
        end if;
      end if;
    end if;
  end loop;
end $$;

create or replace function _stowage_baseline.check_drop() returns event_trigger
language plpgsql security definer set search_path = '' as $$
declare
  obj record;
  target text;
begin
  if not _stowage_baseline.is_postgres_session() then
    return;
  end if;
  for obj in select * from pg_catalog.pg_event_trigger_dropped_objects() loop
    if obj.object_type in ('policy', 'trigger') and (obj.schema_name in ('storage', 'auth')) then
      target := obj.schema_name || '.' || pg_catalog.split_part(obj.object_identity, ' on ', 2);
      target := pg_catalog.regexp_replace(target, '^(storage|auth)\.(storage|auth)\.', '\1.');
      if not exists (select 1 from _stowage_baseline.policy_grant_tables t where t.table_name = target) then
        raise exception 'must be owner of relation %', target using errcode = '42501';
      end if;
    end if;
  end loop;
end $$;

drop event trigger if exists stowage_policy_grants_start;
drop event trigger if exists stowage_policy_grants_end;
drop event trigger if exists stowage_policy_grants_drop;
create event trigger stowage_policy_grants_start on ddl_command_start
  when tag in ('CREATE POLICY', 'ALTER POLICY', 'DROP POLICY', 'DROP TRIGGER')
  execute function _stowage_baseline.grant_start();
create event trigger stowage_policy_grants_end on ddl_command_end
  when tag in ('CREATE POLICY', 'ALTER POLICY', 'DROP POLICY', 'DROP TRIGGER')
  execute function _stowage_baseline.grant_end();
create event trigger stowage_policy_grants_drop on sql_drop
  when tag in ('DROP POLICY', 'DROP TRIGGER')
  execute function _stowage_baseline.check_drop();
