-- Stowage: the upload path reads by index, whatever its tables held when it was first planned
-- (issue 19).
--
-- PL/pgSQL plans each statement once per connection and keeps the plan until the tables it reads
-- are analyzed again. The reservations table is empty most of the time (a reservation lives for
-- one upload), and autovacuum leaves an emptied table with no pages and a row count of 0: a
-- connection that first reserves or uploads then plans every lookup there as a sequential scan,
-- which costs nothing on an empty table. When a burst of uploads follows, every reservation,
-- permission test and landing upload of every user reads all live reservations, until
-- autovacuum analyzes the table again (its next round, up to a minute later by default). In the
-- benchmark's 50 concurrent users that was 4 scans and ~2,200 rows read per upload; with
-- 100,000 live reservations, each upload would read them all.
--
-- Every statement of these functions is a lookup by a key or by the user's index, so they are
-- planned without sequential scans, as on a table of any size. A statement left with no other
-- path (the one-row settings) is still planned, at a cost of 1e10, which would hand it to the
-- JIT compiler: these functions run without JIT (pgTAP checks the two go together). Reconcile
-- and the purge, which read whole tables on purpose, keep the planner's choice.
--
-- lock_usage() also reads the usage row first and inserts it only when it is missing: the
-- insert-or-nothing ran on every call (twice per upload: reserving and landing) to find the row
-- it then read anyway.
alter function stowage.reserve(text, jsonb, boolean, uuid) set enable_seqscan = off;
alter function stowage.reserve(text, jsonb, boolean, uuid) set jit = off;
alter function stowage.cancel_reservation(text, text, uuid) set enable_seqscan = off;
alter function stowage.cancel_reservation(text, text, uuid) set jit = off;
alter function stowage.plan_of(uuid) set enable_seqscan = off;
alter function stowage.plan_of(uuid) set jit = off;
alter function stowage.quota(uuid) set enable_seqscan = off;
alter function stowage.quota(uuid) set jit = off;
alter function stowage.land_write(text, text, jsonb, boolean, bigint, boolean) set enable_seqscan = off;
alter function stowage.land_write(text, text, jsonb, boolean, bigint, boolean) set jit = off;
alter function stowage.objects_before_check() set enable_seqscan = off;
alter function stowage.objects_before_check() set jit = off;
alter function stowage.objects_before_overwrite() set enable_seqscan = off;
alter function stowage.objects_before_overwrite() set jit = off;

create or replace function stowage.lock_usage(p_user_id uuid)
returns stowage.usage
language plpgsql
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_row stowage.usage;
begin
  select * into v_row from stowage.usage u where u.user_id = p_user_id for update;
  if not found then
    -- A user's first write: create the row (a concurrent first write may create it first).
    insert into stowage.usage (user_id) values (p_user_id) on conflict (user_id) do nothing;
    select * into v_row from stowage.usage u where u.user_id = p_user_id for update;
  end if;
  return v_row;
end
$$;
