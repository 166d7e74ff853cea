-- Stowage: resumable (TUS) uploads, and refusals before any byte is stored.
--
-- Supabase Storage's TUS routes (STORAGE_API_FACTS §1.11) write the object row once, when the
-- last byte lands, through the same service-role upsert as a standard upload: the BEFORE INSERT
-- trigger judges it against the reservation there, as any upload. Two things differ:
--  * the signed TUS endpoint (`/upload/resumable/sign`, a signed-upload token in `x-signature`)
--    runs its final write with `storage.operation` = 'storage.tus.upload.part_signed' (or
--    '..create_signed' when the POST carries every byte), not 'storage.object.upload_signed'.
--    A URL signed with the service key has no owner, so without this check such an upload into
--    a home would pass as "the service role writing directly";
--  * the permission test that Storage runs on every TUS request on the user endpoint carries
--    the declared length (`contentLength`, the Upload-Length) and type but no `size`. Held to the reservation here, a declared length over it, or another type, is
--    refused before the first byte is stored instead of after the last.
-- This trigger sorts before `stowage_objects_before_insert` (triggers fire in name order), so it
-- sees the reservation before that trigger consumes it. It takes no lock: it only refuses.

create function stowage.objects_before_check()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_owner uuid := stowage.home_owner(new.bucket_id, new.name);
  v_res stowage.reservations;
  v_declared numeric;
  v_sent text;
  v_operation text := coalesce(current_setting('storage.operation', true), '');
begin
  if v_owner is null or new.metadata is null then
    return new;
  end if;
  select * into v_res from stowage.reservations r
   where r.bucket_id = new.bucket_id and r.name = new.name
     and r.user_id = v_owner and r.live_until > now();

  if new.metadata ? 'size' then
    -- A final write through the signed TUS endpoint is a signed upload: it needs a reservation.
    if v_res.id is null and v_operation like 'storage.tus.upload.%\_signed' then
      raise exception using errcode = '42501',
        message = 'no_reservation: no live upload reservation for "' || new.name || '"';
    end if;
    return new;
  end if;

  -- The permission test of a TUS request on the user endpoint, whose `contentLength` is the
  -- declared Upload-Length (a standard upload's is the request's length, multipart framing
  -- included; a signing request's is its own JSON body): hold what is declared to the
  -- reservation, when there is one (without one, RLS or the final write refuse, as before).
  if v_res.id is null or v_operation not in ('storage.tus.upload.create', 'storage.tus.upload.part') then
    return new;
  end if;
  if jsonb_typeof(new.metadata -> 'contentLength') = 'number' then
    v_declared := (new.metadata ->> 'contentLength')::numeric;
    if v_declared > v_res.size then
      raise exception using errcode = '42501',
        message = 'upload_too_large: ' || v_declared || ' bytes declared > reserved ' || v_res.size;
    end if;
  end if;
  v_sent := new.metadata ->> 'mimetype';
  if v_sent is not null
     and lower(btrim(split_part(v_sent, ';', 1))) <> lower(btrim(split_part(v_res.content_type, ';', 1))) then
    raise exception using errcode = '42501',
      message = 'unsupported_media_type: "' || v_sent || '" sent, "' || v_res.content_type || '" declared';
  end if;
  return new;
end
$$;
comment on function stowage.objects_before_check() is
  'Refuses before bytes are stored: a permission test declaring more than reserved or another '
  'type; and a signed TUS upload into a home without a live reservation.';

create trigger stowage_objects_before_check
  before insert on storage.objects
  for each row execute function stowage.objects_before_check();

revoke execute on function stowage.objects_before_check() from public;
