-- Local data only (never pushed to a hosted project): the dev users and their plans.
-- Runs once after `supabase db push` on a fresh database, as postgres; safe to run again.
-- Each signs in with the password "password123" (bcrypt, cost 10, as GoTrue stores it).
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', u.id, 'authenticated', 'authenticated', u.email,
       extensions.crypt('password123', extensions.gen_salt('bf', 10)), now(),
       '{"provider":"email","providers":["email"]}', '{}', now(), now()
  from (values
    ('a11ce000-0000-4000-8000-000000000001'::uuid, 'alice@example.com'),
    ('b0b00000-0000-4000-8000-000000000002'::uuid, 'bob@example.com'),
    ('ca201000-0000-4000-8000-000000000003'::uuid, 'carol@example.com')
  ) as u (id, email)
on conflict (id) do nothing;

-- Their email identities, as GoTrue writes one at sign-up.
insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at,
  created_at, updated_at)
select u.id::text, u.id,
       jsonb_build_object('sub', u.id::text, 'email', u.email, 'email_verified', false,
         'phone_verified', false),
       'email', now(), now(), now()
  from auth.users u
 where u.id in ('a11ce000-0000-4000-8000-000000000001', 'b0b00000-0000-4000-8000-000000000002',
                'ca201000-0000-4000-8000-000000000003')
on conflict (provider_id, provider) do nothing;

-- alice and bob stay on the default plan (free); carol pays.
select stowage.set_plan('ca201000-0000-4000-8000-000000000003', 'paid');
