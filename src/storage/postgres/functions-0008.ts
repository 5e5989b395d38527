/**
 * The PostgreSQL functions of migration 0008: an identifier write and a profile create, each in one
 * statement, and the profile as a read answers it. Released
 * migrations never change: a later change of these functions is a new migration that replaces them.
 *
 * JSON written to the outbox is put together as text, key by key, so that a stored payload is the
 * same text that `JSON.stringify` makes on the other path (to_json escapes a string as it does).
 */
export const FUNCTIONS_0008 = String.raw`
create function crosswalk_json(value text) returns text
language sql immutable parallel safe as $$
  select coalesce(to_json(value)::text, 'null')
$$;

-- recordEvent of src/storage/outbox.ts: one pending delivery per subscribed endpoint, and the event
-- itself only when at least one endpoint is subscribed. Answers whether the event was stored.
create function crosswalk_record_event(p_app text, p_type text, p_profile text, p_data text, p_now bigint, p_created_at text)
returns boolean language plpgsql as $$
declare
  v_id text := gen_random_uuid()::text;
  v_count integer;
begin
  insert into webhook_deliveries (app_id, endpoint_id, event_id, profile_id, status, attempts, next_attempt_at, created_at)
    select p_app, endpoint_id, v_id, p_profile, 'pending', 0, p_now, p_now
    from webhook_subscriptions where app_id = p_app and event_type = p_type;
  get diagnostics v_count = row_count;
  if v_count = 0 then return false; end if;
  insert into webhook_events (app_id, id, type, profile_id, payload, created_at) values (
    p_app, v_id, p_type, p_profile,
    '{"id":' || crosswalk_json(v_id) || ',"type":' || crosswalk_json(p_type) || ',"created_at":' || crosswalk_json(p_created_at)
      || ',"app_id":' || crosswalk_json(p_app) || ',"data":' || p_data || '}',
    p_now);
  return true;
end
$$;

-- writeIdentifiers of src/services/identifier-writes.ts, after the placeholder rule: p_keys and
-- p_values are the kept values in the order they were sent (null clears), p_policies the conflict
-- policy of each ('allow', 'reject' or 'move'), p_dropped_* the placeholders left out. The answer is
-- JSON: {"status":"not_found"}, {"status":"stale", ...the rules as stored} when p_rules_version is
-- not the stored rules' version, {"status":"conflict","keys":[...]} (nothing written), or
-- {"status":"written", ...} with the changes, the moves and the number of events stored.
create function crosswalk_write_identifiers(
  p_app text, p_profile_id text, p_customer_user_id text,
  p_keys text[], p_values text[], p_policies text[], p_dropped_keys text[], p_dropped_values text[],
  p_rules_version text, p_source text, p_api_key_id text, p_request_id text, p_now bigint, p_created_at text
) returns text language plpgsql as $$
declare
  v_profile text;
  v_user text;
  v_rules app_rules%rowtype;
  v_version text := '';
  v_current jsonb;
  v_old text;
  v_new text;
  c_keys text[] := '{}';
  c_old text[] := '{}';
  c_new text[] := '{}';
  c_kind text[] := '{}';
  c_from text[] := '{}';
  v_conflicts text[] := '{}';
  m_change integer[] := '{}';
  m_holder text[] := '{}';
  v_holders text[];
  v_holder text;
  v_loser_user text;
  v_events integer := 0;
  v_moves text[] := '{}';
  v_latest identifier_history%rowtype;
  i integer;
begin
  if p_profile_id is not null and p_customer_user_id is not null then
    select id, customer_user_id into v_profile, v_user from profiles
      where app_id = p_app and id = p_profile_id and customer_user_id = p_customer_user_id for update;
  elsif p_profile_id is not null then
    select id, customer_user_id into v_profile, v_user from profiles where app_id = p_app and id = p_profile_id for update;
  else
    select id, customer_user_id into v_profile, v_user from profiles where app_id = p_app and customer_user_id = p_customer_user_id for update;
  end if;
  if v_profile is null then return '{"status":"not_found"}'; end if;

  select * into v_rules from app_rules where app_id = p_app;
  if found then
    v_version := md5(v_rules.placeholder_mode || chr(10) || v_rules.extra_placeholders || chr(10) || v_rules.conflict_policies);
  end if;
  if p_rules_version is distinct from v_version then
    return json_build_object('status', 'stale', 'version', v_version, 'placeholder_mode', v_rules.placeholder_mode,
      'extra_placeholders', v_rules.extra_placeholders, 'conflict_policies', v_rules.conflict_policies)::text;
  end if;

  -- Dropped keys are read too: their history entry shows the value that was kept.
  select coalesce(jsonb_object_agg(key, value), '{}') into v_current from integration_identifiers
    where app_id = p_app and profile_id = v_profile and key = any(p_keys || p_dropped_keys);

  for i in 1 .. coalesce(array_length(p_keys, 1), 0) loop
    v_old := v_current ->> p_keys[i];
    v_new := p_values[i];
    continue when v_old is not distinct from v_new;
    c_keys := c_keys || p_keys[i];
    c_old := c_old || v_old;
    c_new := c_new || v_new;
    c_kind := c_kind || case when v_new is null then 'clear' when v_old is null then 'set' else 'change' end;
    c_from := c_from || null::text;
    if p_policies[i] in ('reject', 'move') and v_new is not null then
      -- The same lock as the other path's: two writes of one value cannot both see it free.
      perform pg_advisory_xact_lock(hashtextextended(
        '[' || crosswalk_json(p_app) || ',' || crosswalk_json(p_keys[i]) || ',' || crosswalk_json(v_new) || ']', 0));
      v_holders := array(select profile_id from integration_identifiers
        where app_id = p_app and key = p_keys[i] and value = v_new and profile_id <> v_profile order by profile_id);
      continue when cardinality(v_holders) = 0;
      if p_policies[i] = 'reject' then
        v_conflicts := v_conflicts || p_keys[i];
      else
        foreach v_holder in array v_holders loop
          m_change := m_change || cardinality(c_keys);
          m_holder := m_holder || v_holder;
        end loop;
      end if;
    end if;
  end loop;
  if cardinality(v_conflicts) > 0 then
    return json_build_object('status', 'conflict', 'keys', v_conflicts)::text;
  end if;

  -- The losing profiles are held in profile id order, so that moves between the same profiles
  -- cannot deadlock; each loses the value only if it still holds it once held.
  perform 1 from profiles where app_id = p_app and id = any(m_holder) order by id for update;
  for i in 1 .. cardinality(m_change) loop
    v_holder := m_holder[i];
    select customer_user_id into v_loser_user from profiles where app_id = p_app and id = v_holder;
    continue when not found;
    delete from integration_identifiers
      where app_id = p_app and profile_id = v_holder and key = c_keys[m_change[i]] and value = c_new[m_change[i]];
    continue when not found;
    c_from[m_change[i]] := coalesce(c_from[m_change[i]], v_holder);
    v_moves := v_moves || json_build_object('profile_id', v_holder, 'key', c_keys[m_change[i]], 'value', c_new[m_change[i]])::text;
    insert into identifier_history (app_id, profile_id, key, kind, old_value, new_value, other_profile_id, source, api_key_id, request_id, changed_at)
      values (p_app, v_holder, c_keys[m_change[i]], 'moved_away', c_new[m_change[i]], null, v_profile, p_source, p_api_key_id, p_request_id, p_now);
    if crosswalk_record_event(p_app, 'integration_identifiers.updated', v_holder,
      '{"profile_id":' || crosswalk_json(v_holder) || ',"customer_user_id":' || crosswalk_json(v_loser_user)
        || ',"changes":{' || crosswalk_json(c_keys[m_change[i]]) || ':{"old":' || crosswalk_json(c_new[m_change[i]]) || ',"new":null}}'
        || ',"moved_to_profile_id":' || crosswalk_json(v_profile) || '}',
      p_now, p_created_at) then
      v_events := v_events + 1;
    end if;
  end loop;

  delete from integration_identifiers where app_id = p_app and profile_id = v_profile
    and key in (select k from unnest(c_keys, c_new) as c(k, v) where v is null);
  insert into integration_identifiers (app_id, profile_id, key, value, updated_at)
    select p_app, v_profile, k, v, p_now from unnest(c_keys, c_new) as c(k, v) where v is not null
    on conflict (app_id, profile_id, key) do update set value = excluded.value, updated_at = excluded.updated_at;

  insert into identifier_history (app_id, profile_id, key, kind, old_value, new_value, other_profile_id, source, api_key_id, request_id, changed_at)
    select p_app, v_profile, k, kind, o, n, f, p_source, p_api_key_id, p_request_id, p_now
    from unnest(c_keys, c_kind, c_old, c_new, c_from) with ordinality as c(k, kind, o, n, f, position) order by position;

  -- A placeholder sent again over the same value, with no change of the key since, adds no entry.
  for i in 1 .. coalesce(array_length(p_dropped_keys, 1), 0) loop
    v_old := v_current ->> p_dropped_keys[i];
    select * into v_latest from identifier_history
      where app_id = p_app and profile_id = v_profile and key = p_dropped_keys[i] order by seq desc limit 1;
    continue when v_latest.kind = 'dropped' and v_latest.new_value = p_dropped_values[i] and v_latest.old_value is not distinct from v_old;
    insert into identifier_history (app_id, profile_id, key, kind, old_value, new_value, other_profile_id, source, api_key_id, request_id, changed_at)
      values (p_app, v_profile, p_dropped_keys[i], 'dropped', v_old, p_dropped_values[i], null, p_source, p_api_key_id, p_request_id, p_now);
  end loop;

  if cardinality(c_keys) > 0 then
    if crosswalk_record_event(p_app, 'integration_identifiers.updated', v_profile,
      '{"profile_id":' || crosswalk_json(v_profile) || ',"customer_user_id":' || crosswalk_json(v_user) || ',"changes":{'
        || (select string_agg(crosswalk_json(k) || ':{"old":' || crosswalk_json(o) || ',"new":' || crosswalk_json(n) || '}', ',' order by position)
            from unnest(c_keys, c_old, c_new) with ordinality as c(k, o, n, position))
        || '}}',
      p_now, p_created_at) then
      v_events := v_events + 1;
    end if;
  end if;

  return json_build_object('status', 'written', 'profile_id', v_profile,
    'changes', (select coalesce(json_agg(json_build_object('key', k, 'old', o, 'new', n, 'kind', kind, 'moved_from', f) order by position), '[]')
      from unnest(c_keys, c_old, c_new, c_kind, c_from) with ordinality as c(k, o, n, kind, f, position)),
    'moves', (select coalesce(json_agg(m::json order by position), '[]') from unnest(v_moves) with ordinality as x(m, position)),
    'events', v_events)::text;
end
$$;
-- The profile as a read answers it: its row, its custom attributes and, once it has revenue, its
-- transactions and grants.
create function crosswalk_profile_json(p_app text, p_profile text) returns json
language sql stable as $$
  select json_build_object(
    'profile', to_json(p),
    'custom', (select coalesce(json_agg(json_build_array(c.key, c.value, c.is_number)), '[]') from custom_attributes c
      where c.app_id = p.app_id and c.profile_id = p.id),
    'transactions', case when p.revenue_at is not null then (select coalesce(json_agg(t order by t.store, t.store_transaction_id), '[]')
      from transactions t where t.app_id = p.app_id and t.profile_id = p.id) end,
    'grants', case when p.revenue_at is not null then (select coalesce(json_agg(g order by g.access_level_id), '[]')
      from access_grants g where g.app_id = p.app_id and g.profile_id = p.id) end)
  from profiles p where p.app_id = p_app and p.id = p_profile
$$;

-- ProfileService.ensure of src/services/profiles.ts with ensureProfileRow and applyPatch of
-- src/storage/profile-queries.ts. p_attributes holds the attributes the patch names; p_custom_mode is
-- 'keep', 'clear' or 'merge' (p_custom_*: the last value sent per key, null removes it);
-- p_device_id is null without installation_meta, else p_installation is its other fields as JSON
-- text, merged over the stored ones as the spread of two objects would; p_fields are the event's
-- fields. Raises CW001 (more than p_custom_limit custom attributes) or CW002 (the customer user id
-- is another profile's), and the statement then writes nothing.
create function crosswalk_ensure_profile(
  p_app text, p_profile_id text, p_customer_user_id text, p_new_id text,
  p_attributes jsonb, p_custom_mode text, p_custom_keys text[], p_custom_values text[], p_custom_numbers integer[],
  p_custom_limit integer, p_device_id text, p_installation text, p_fields text[], p_now bigint, p_created_at text
) returns text language plpgsql as $$
declare
  v_id text;
  v_before text;
  v_had_before boolean := false;
  v_created boolean := false;
  v_holder text;
  v_count integer;
  v_meta text;
  v_user text;
  v_fields text[] := p_fields;
  v_type text;
  v_events integer := 0;
begin
  if p_profile_id is not null then
    select id, customer_user_id into v_id, v_before from profiles where app_id = p_app and id = p_profile_id for update;
    v_had_before := v_id is not null and p_customer_user_id is not null;
    if v_id is null then
      insert into profiles (app_id, id, customer_user_id, created_at, updated_at)
        values (p_app, p_profile_id, p_customer_user_id, p_now, p_now) on conflict do nothing;
      get diagnostics v_count = row_count;
      v_created := v_count > 0;
    end if;
    if not v_created and p_customer_user_id is not null then
      if v_id is null then
        -- The insert hit a customer user id another profile holds, unless the profile was made meanwhile.
        select id into v_id from profiles where app_id = p_app and id = p_profile_id for update;
        if v_id is null then raise exception 'customer user id taken' using errcode = 'CW002'; end if;
      end if;
      select id into v_holder from profiles where app_id = p_app and customer_user_id = p_customer_user_id for update;
      if v_holder is distinct from p_profile_id then
        if v_holder is not null then raise exception 'customer user id taken' using errcode = 'CW002'; end if;
        begin
          update profiles set customer_user_id = p_customer_user_id, updated_at = p_now where app_id = p_app and id = p_profile_id;
        exception when unique_violation then
          raise exception 'customer user id taken' using errcode = 'CW002';
        end;
      end if;
    end if;
    v_id := p_profile_id;
  else
    insert into profiles (app_id, id, customer_user_id, created_at, updated_at)
      values (p_app, p_new_id, p_customer_user_id, p_now, p_now) on conflict do nothing;
    get diagnostics v_count = row_count;
    v_created := v_count > 0;
    select id into v_id from profiles where app_id = p_app and customer_user_id = p_customer_user_id for update;
    if v_id is null then raise exception 'profile vanished while it was being created'; end if;
  end if;

  update profiles set
    first_name = case when p_attributes ? 'first_name' then p_attributes ->> 'first_name' else first_name end,
    last_name = case when p_attributes ? 'last_name' then p_attributes ->> 'last_name' else last_name end,
    gender = case when p_attributes ? 'gender' then p_attributes ->> 'gender' else gender end,
    email = case when p_attributes ? 'email' then p_attributes ->> 'email' else email end,
    phone_number = case when p_attributes ? 'phone_number' then p_attributes ->> 'phone_number' else phone_number end,
    birthday = case when p_attributes ? 'birthday' then p_attributes ->> 'birthday' else birthday end,
    ip_country = case when p_attributes ? 'ip_country' then p_attributes ->> 'ip_country' else ip_country end,
    ip_v4_address = case when p_attributes ? 'ip_v4_address' then p_attributes ->> 'ip_v4_address' else ip_v4_address end,
    store_country = case when p_attributes ? 'store_country' then p_attributes ->> 'store_country' else store_country end,
    store = case when p_attributes ? 'store' then p_attributes ->> 'store' else store end,
    store_account_token = case when p_attributes ? 'store_account_token' then p_attributes ->> 'store_account_token' else store_account_token end,
    att_status = case when p_attributes ? 'att_status' then (p_attributes ->> 'att_status')::integer else att_status end,
    analytics_disabled = case when p_attributes ? 'analytics_disabled'
      then case p_attributes -> 'analytics_disabled' when 'true' then 1 when 'false' then 0 end else analytics_disabled end,
    updated_at = p_now
  where app_id = p_app and id = v_id
  returning customer_user_id into v_user;

  if p_custom_mode = 'clear' then
    delete from custom_attributes where app_id = p_app and profile_id = v_id;
  elsif p_custom_mode = 'merge' then
    delete from custom_attributes where app_id = p_app and profile_id = v_id
      and key in (select k from unnest(p_custom_keys, p_custom_values) as c(k, v) where v is null);
    if exists (select from unnest(p_custom_values) as c(v) where v is not null) then
      insert into custom_attributes (app_id, profile_id, key, value, is_number)
        select p_app, v_id, k, v, n from unnest(p_custom_keys, p_custom_values, p_custom_numbers) as c(k, v, n) where v is not null
        on conflict (app_id, profile_id, key) do update set value = excluded.value, is_number = excluded.is_number;
      select count(*) into v_count from custom_attributes where app_id = p_app and profile_id = v_id;
      if v_count > p_custom_limit then raise exception 'too many custom attributes' using errcode = 'CW001'; end if;
    end if;
  end if;

  if p_device_id is not null then
    select meta into v_meta from installations where app_id = p_app and profile_id = v_id and device_id = p_device_id;
    -- {...stored, ...sent}: the stored keys in their order, each with the sent value when sent,
    -- then the sent keys not stored, in theirs.
    select '{' || coalesce(string_agg(crosswalk_json(key) || ':' || value, ',' order by position), '') || '}' into v_meta
      from (
        select s.key, coalesce(n.value, s.value)::text as value, s.position
          from json_each(coalesce(v_meta, '{}')::json) with ordinality as s(key, value, position)
          left join json_each(p_installation::json) as n(key, value) on n.key = s.key
        union all
        select n.key, n.value::text, 1000000 + n.position
          from json_each(p_installation::json) with ordinality as n(key, value, position)
          where not exists (select from json_each(coalesce(v_meta, '{}')::json) as s(key, value) where s.key = n.key)
      ) as merged;
    insert into installations (app_id, profile_id, device_id, meta, updated_at) values (p_app, v_id, p_device_id, v_meta, p_now)
      on conflict (app_id, profile_id, device_id) do update set meta = excluded.meta, updated_at = excluded.updated_at;
  end if;

  if v_created then
    v_type := 'profile.created';
  else
    if v_had_before and v_before is distinct from v_user then v_fields := array_prepend('customer_user_id'::text, v_fields); end if;
    if cardinality(v_fields) > 0 then v_type := 'profile.updated'; end if;
  end if;
  if v_type is not null and crosswalk_record_event(p_app, v_type, v_id,
      '{"profile_id":' || crosswalk_json(v_id) || ',"customer_user_id":' || crosswalk_json(v_user) || ',"fields":['
        || coalesce((select string_agg(crosswalk_json(f), ',' order by position) from unnest(v_fields) with ordinality as x(f, position)), '')
        || ']}',
      p_now, p_created_at) then
    v_events := 1;
  end if;
  return json_build_object('record', crosswalk_profile_json(p_app, v_id), 'event', v_type, 'events', v_events)::text;
end
$$;
`;
