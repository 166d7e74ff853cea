-- Roles, owners and grants of a hosted Supabase project (HOSTED_ROLES.md §1, §2, §7),
-- applied by the cluster superuser supabase_admin before any migration. Every
-- login's password is 'postgres', as under `supabase start`.
-- Idempotent: roles are cluster-wide.
do $$
declare
  r record;
begin
  for r in select * from (values
    ('postgres',               'login nosuperuser inherit createrole createdb replication bypassrls'),
    ('anon',                   'nologin inherit'),
    ('authenticated',          'nologin inherit'),
    ('service_role',           'nologin inherit bypassrls'),
    ('authenticator',          'login noinherit'),
    ('supabase_auth_admin',    'login noinherit nocreaterole'),
    ('supabase_storage_admin', 'login noinherit createrole'),
    ('dashboard_user',         'nologin createrole createdb replication'),
    ('supabase_replication_admin', 'login replication'),
    ('supabase_read_only_user', 'login bypassrls'),
    ('pgbouncer',              'login')
  ) as t(name, attrs) loop
    if not exists (select 1 from pg_roles where rolname = r.name) then
      execute format('create role %I %s', r.name, r.attrs);
    else
      execute format('alter role %I %s', r.name, r.attrs);
    end if;
  end loop;
end $$;

alter role postgres password 'postgres';
alter role authenticator password 'postgres';
alter role supabase_auth_admin password 'postgres';
alter role supabase_storage_admin password 'postgres';
alter role supabase_admin password 'postgres';

alter role postgres set search_path = "$user", public, extensions;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';
alter role supabase_auth_admin set search_path = auth;
alter role supabase_storage_admin set search_path = storage;

grant anon, authenticated, service_role to postgres;
grant anon, authenticated, service_role to authenticator;
grant authenticator to supabase_storage_admin;
grant pg_read_all_data, pg_monitor, pg_signal_backend to postgres;
grant pg_read_all_data, pg_monitor to supabase_read_only_user;

-- The database belongs to postgres; with PG15's pg_database_owner that gives it CREATE in public.
alter database postgres owner to postgres;
grant create on database postgres to supabase_storage_admin, supabase_auth_admin;

grant usage on schema public to postgres, anon, authenticated, service_role;

-- Default privileges in public (hosted, after the 2026 "not exposed automatically"
-- change: new tables, sequences and functions are not granted to the API roles).
alter default privileges for role postgres in schema public
  grant truncate, references, trigger on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant update on sequences to anon, authenticated, service_role;

-- extensions: owned by postgres, holding pgcrypto and uuid-ossp.
create schema if not exists extensions authorization postgres;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;
grant all on all functions in schema extensions to postgres with grant option;

-- auth and storage schemas: owned by supabase_admin; postgres may use, not create.
create schema if not exists auth authorization supabase_admin;
grant all on schema auth to supabase_auth_admin, dashboard_user;
grant usage on schema auth to anon, authenticated, service_role, postgres;

create schema if not exists storage authorization supabase_admin;
grant all on schema storage to supabase_storage_admin with grant option;
grant usage on schema storage to postgres with grant option;
grant usage on schema storage to anon, authenticated, service_role;
alter default privileges for role supabase_storage_admin in schema storage
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_storage_admin in schema storage
  grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_storage_admin in schema storage
  grant all on sequences to postgres, anon, authenticated, service_role;
