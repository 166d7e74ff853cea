-- Stowage: an upload reserved without upsert never overwrites.
--
-- Supabase Storage v1.70.6 completes a signed TUS upload with an upsert and runs no existence
-- check on that endpoint, whatever its token says about upsert; a standard upload checks once,
-- before its bytes. So a file that reaches the key after the reservation (the user moved another
-- file there, say) would be replaced by an upload whose caller never asked to overwrite. The
-- reservation remembers whether it was made with `upsert`: the update half of an upsert that
-- lands bytes on a home key holding a live reservation made without it is refused
-- `already_exists`, and the file stays. The trusted service role writing directly is not judged,
-- as everywhere else.
--
-- This trigger sorts before `stowage_objects_before_update` (triggers fire in name order), which
-- clears the `stowage.inserting` mark that tells the update half of an upsert apart. It takes no
-- lock: it only refuses.

create function stowage.objects_before_overwrite()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_owner uuid := stowage.home_owner(old.bucket_id, old.name);
begin
  if v_owner is null
     or new.metadata is null or not (new.metadata ? 'size')
     or current_setting('stowage.inserting', true) is distinct from old.bucket_id || '/' || old.name
     or current_setting('stowage.inserting_trusted', true) = 'on' then
    return new;
  end if;
  if exists (
    select 1 from stowage.reservations r
     where r.bucket_id = old.bucket_id and r.name = old.name and r.user_id = v_owner
       and r.live_until > now() and not r.upsert) then
    raise exception using errcode = '42501',
      message = 'already_exists: "' || substr(old.name, length(stowage.home_prefix(old.bucket_id, v_owner)) + 1)
        || '" exists, and its upload was reserved without upsert';
  end if;
  return new;
end
$$;
comment on function stowage.objects_before_overwrite() is
  'Refuses the update half of an upsert that would overwrite a home key whose live reservation '
  'was made without upsert (already_exists).';

create trigger stowage_objects_before_overwrite
  before update on storage.objects
  for each row execute function stowage.objects_before_overwrite();

revoke execute on function stowage.objects_before_overwrite() from public;
