-- Local data only (never pushed to a hosted project): the dev users and their plans.
-- Runs once after `supabase db push` on a fresh database, as postgres; safe to run again.
insert into auth.users (instance_id, id, aud, role, email, email_confirmed_at, raw_app_meta_data,
  raw_user_meta_data, created_at, updated_at)
values
  ('00000000-0000-0000-0000-000000000000', 'a11ce000-0000-4000-8000-000000000001',
   'authenticated', 'authenticated', 'alice@example.com', now(),
   '{"provider":"email","providers":["email"]}', '{}', now(), now()),
  ('00000000-0000-0000-0000-000000000000', 'b0b00000-0000-4000-8000-000000000002',
   'authenticated', 'authenticated', 'bob@example.com', now(),
   '{"provider":"email","providers":["email"]}', '{}', now(), now()),
  ('00000000-0000-0000-0000-000000000000', 'ca201000-0000-4000-8000-000000000003',
   'authenticated', 'authenticated', 'carol@example.com', now(),
   '{"provider":"email","providers":["email"]}', '{}', now(), now())
on conflict (id) do nothing;

-- alice and bob stay on the default plan (free); carol pays.
select stowage.set_plan('ca201000-0000-4000-8000-000000000003', 'paid');
