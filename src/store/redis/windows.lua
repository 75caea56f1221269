-- Reads the expensive part of the 5-minute and 1-hour windows of several mints in one round trip
-- (no key-space SCAN: every key name is computed from the mint and the minute). The counts are
-- read without a script (pipelined HGETALLs parsed by the client, see windows.rs).
-- ARGV: now_minute, parts, first_seen_days (how many daily first-seen sets to consult), then the
--       mints. parts = six 0/1 flags: unique 5m, unique 1h, top buyers 5m, top buyers 1h,
--       new wallets 5m, new wallets 1h (only what the triggers need is computed).
-- Returns per mint {ub5, us5, ub60, us60, top5 {wallet, lamports, ...} (largest first), sampled5,
--                   new5, top60, sampled60, new60}; parts not asked for are 0 / empty.
local now = tonumber(ARGV[1])
local parts = ARGV[2]
local function want(i) return string.sub(parts, i, i) == '1' end
local days = tonumber(ARGV[3])
-- New-wallet share is judged on the largest buyers (bounded cost for popular tokens).
local NEW_SAMPLE = 100
local TMP = 'pw:tmp:window-union'

local function keys_for(prefix, mint, minutes)
  local ks = {}
  for m = now - minutes + 1, now do ks[#ks + 1] = prefix .. mint .. ':' .. m end
  return ks
end

-- Buyers of one window: the per-wallet buy-volume union is built in a scratch key (deleted before
-- the script ends) so that only its largest members travel through Lua: the top 5, and among the
-- NEW_SAMPLE largest buyers how many were examined and how many were first seen in the window.
local function buyers(mint, minutes, with_new)
  local ks = keys_for('pw:wv:', mint, minutes)
  -- unpack() expands only as the last argument: build the whole call.
  local call = {'ZUNIONSTORE', TMP, #ks}
  for _, k in ipairs(ks) do call[#call + 1] = k end
  local n = redis.call(unpack(call))
  local top = {}
  local best = redis.call('ZRANGE', TMP, -5, -1, 'WITHSCORES')
  for k = #best - 1, 1, -2 do
    top[#top + 1] = best[k]
    top[#top + 1] = best[k + 1]
  end
  local sampled, new = 0, 0
  if n > 0 and with_new then
    local sample = redis.call('ZRANGE', TMP, -NEW_SAMPLE, -1)
    sampled = #sample
    local start = (now - minutes + 1) * 60
    local old = {}
    local today = math.floor(now / 1440)
    for d = today - days + 1, today do
      local scores = redis.call('ZMSCORE', 'pw:fs:' .. d, unpack(sample))
      for k = 1, #scores do
        if scores[k] and tonumber(scores[k]) < start then old[sample[k]] = true end
      end
    end
    local old_count = 0
    for _ in pairs(old) do old_count = old_count + 1 end
    new = sampled - old_count
  end
  redis.call('DEL', TMP)
  return top, sampled, new
end

local out = {}
for a = 4, #ARGV do
  local mint = ARGV[a]
  local ub5, us5, ub60, us60 = 0, 0, 0, 0
  if want(1) then
    ub5 = redis.call('PFCOUNT', unpack(keys_for('pw:hb:', mint, 5)))
    us5 = redis.call('PFCOUNT', unpack(keys_for('pw:hs:', mint, 5)))
  end
  if want(2) then
    ub60 = redis.call('PFCOUNT', unpack(keys_for('pw:hb:', mint, 60)))
    us60 = redis.call('PFCOUNT', unpack(keys_for('pw:hs:', mint, 60)))
  end
  local top5, n5, new5 = {}, 0, 0
  if want(3) or want(5) then top5, n5, new5 = buyers(mint, 5, want(5)) end
  local top60, n60, new60 = {}, 0, 0
  if want(4) or want(6) then top60, n60, new60 = buyers(mint, 60, want(6)) end
  out[#out + 1] = {ub5, us5, ub60, us60, top5, n5, new5, top60, n60, new60}
end
return out
