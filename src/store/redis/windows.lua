-- Reads the 5-minute and 1-hour windows of several mints in one round trip (no key-space SCAN:
-- every key name is computed from the mint and the minute).
-- ARGV: now_minute, parts, first_seen_days (how many daily first-seen sets to consult), then the
--       mints. parts = '' (counts only) or six 0/1 flags: unique 5m, unique 1h, top buyers 5m,
--       top buyers 1h, new wallets 5m, new wallets 1h (only what the triggers need is computed).
-- Returns {price_lamports_1h, price_micro_usd_1h, per mint: {counts5 (6), counts60 (6) [, detail]}}
-- detail = {ub5, us5, ub60, us60, top5 {wallet, lamports, ...} (largest first), total5, sampled5,
--           new5, top60, total60, sampled60, new60}; parts not asked for are 0 / empty.
local now = tonumber(ARGV[1])
local parts = ARGV[2]
local detail = #parts == 6
local function want(i) return string.sub(parts, i, i) == '1' end
local days = tonumber(ARGV[3])
-- New-wallet share is judged on the largest buyers (bounded cost for popular tokens).
local NEW_SAMPLE = 100
local fields = {'b', 's', 'bv', 'sv', 'bu', 'su'}

local function keys_for(prefix, mint, minutes)
  local ks = {}
  for m = now - minutes + 1, now do ks[#ks + 1] = prefix .. mint .. ':' .. m end
  return ks
end

local price_l, price_u = 0, 0
for m = now - 59, now do
  local v = redis.call('HMGET', 'pw:px:' .. m, 'l', 'u')
  price_l = price_l + (tonumber(v[1]) or 0)
  price_u = price_u + (tonumber(v[2]) or 0)
end

-- Buyers of one window: the per-wallet buy-volume union (largest first), its total, and among
-- the NEW_SAMPLE largest buyers how many were examined and how many were first seen inside it.
local function buyers(mint, minutes, with_new)
  local ks = keys_for('pw:wv:', mint, minutes)
  -- unpack() expands only as the last argument: build the whole call.
  local call = {'ZUNION', #ks}
  for _, k in ipairs(ks) do call[#call + 1] = k end
  call[#call + 1] = 'WITHSCORES'
  local rows = redis.call(unpack(call))
  local n = #rows / 2
  local total = 0
  for k = 2, #rows, 2 do total = total + tonumber(rows[k]) end
  local top = {}
  for k = n, math.max(1, n - 4), -1 do
    top[#top + 1] = rows[2 * k - 1]
    top[#top + 1] = rows[2 * k]
  end
  local start = (now - minutes + 1) * 60
  local old = {}
  local lo = math.max(1, n - NEW_SAMPLE + 1)
  local sampled = 0
  if n > 0 and with_new then
    sampled = n - lo + 1
    local today = math.floor(now / 1440)
    for d = today - days + 1, today do
      for s = lo, n, 500 do
        local part = {}
        for k = s, math.min(s + 499, n) do part[#part + 1] = rows[2 * k - 1] end
        local scores = redis.call('ZMSCORE', 'pw:fs:' .. d, unpack(part))
        for k = 1, #scores do
          if scores[k] and tonumber(scores[k]) < start then old[part[k]] = true end
        end
      end
    end
  end
  local old_count = 0
  for _ in pairs(old) do old_count = old_count + 1 end
  return top, total, sampled, sampled - old_count
end

local slot = {}
for f = 1, 6 do slot[fields[f]] = f end
local first_hour, last_hour = math.floor((now - 59) / 60), math.floor(now / 60)

local out = {price_l, price_u}
for a = 4, #ARGV do
  local mint = ARGV[a]
  local sums = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
  -- The hour hashes covering the window (one or two), fields `{minute}:{counter}`.
  for h = first_hour, last_hour do
    local kv = redis.call('HGETALL', 'pw:ch:' .. mint .. ':' .. h)
    for k = 1, #kv, 2 do
      local sep = string.find(kv[k], ':', 1, true)
      local m = tonumber(string.sub(kv[k], 1, sep - 1))
      local f = slot[string.sub(kv[k], sep + 1)]
      if f and m > now - 60 and m <= now then
        local x = tonumber(kv[k + 1])
        sums[6 + f] = sums[6 + f] + x
        if m > now - 5 then sums[f] = sums[f] + x end
      end
    end
  end
  local row = {sums}
  if detail then
    local ub5, us5, ub60, us60 = 0, 0, 0, 0
    if want(1) then
      ub5 = redis.call('PFCOUNT', unpack(keys_for('pw:hb:', mint, 5)))
      us5 = redis.call('PFCOUNT', unpack(keys_for('pw:hs:', mint, 5)))
    end
    if want(2) then
      ub60 = redis.call('PFCOUNT', unpack(keys_for('pw:hb:', mint, 60)))
      us60 = redis.call('PFCOUNT', unpack(keys_for('pw:hs:', mint, 60)))
    end
    local top5, total5, n5, new5 = {}, 0, 0, 0
    if want(3) or want(5) then top5, total5, n5, new5 = buyers(mint, 5, want(5)) end
    local top60, total60, n60, new60 = {}, 0, 0, 0
    if want(4) or want(6) then top60, total60, n60, new60 = buyers(mint, 60, want(6)) end
    row[2] = {ub5, us5, ub60, us60, top5, total5, n5, new5, top60, total60, n60, new60}
  end
  out[#out + 1] = row
end
return out
