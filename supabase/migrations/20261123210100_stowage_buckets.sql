-- Stowage, part 2: the default buckets of the three seed apps, and their homes.
-- Rules are data: another app adds its own rows (storage.buckets + stowage.bucket_homes).
-- `on conflict do nothing`: an existing bucket keeps its settings; it only gains a home.

insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types) values
  -- Anantra LMS: JSON, text, FAISS indexes, slides... any type, no per-file cap.
  ('anantra-lms-store', 'anantra-lms-store', false, null, null),
  -- The audio app: 50 MB per file, audio only.
  ('audiofiles', 'audiofiles', false, 52428800,
    array['audio/mpeg', 'audio/mp3', 'audio/wav', 'audio/x-wav']),
  -- CodebeGen: gzip'd tarballs of generated projects.
  ('codebegen-projects', 'codebegen-projects', false, null,
    array['application/gzip', 'application/x-gzip', 'application/x-tar', 'application/x-gtar',
      'application/x-compressed-tar'])
on conflict (id) do nothing;

insert into stowage.bucket_homes (bucket_id, home_template) values
  ('anantra-lms-store', 'user_data/{uid}/'),
  ('audiofiles', '{uid}/'),
  ('codebegen-projects', '{uid}/')
on conflict (bucket_id) do nothing;
