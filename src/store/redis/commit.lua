-- Closes one batch atomically: either everything below happens, or nothing does.
-- ARGV is a flat program built by commit.rs; sections are read in order. Every write comes after
-- the ownership and duplicate checks, so a refused attempt leaves no trace (not even idempotent
-- ones: a refused copy may have been parsed differently, e.g. with another estimated block time).
local a = ARGV
local i = 7
local stream, group, consumer, dead_stream, dedup_ttl = a[1], a[2], a[3], a[4], a[5]
-- Most members a per-minute top-buyers set (`pw:wv:*`) keeps: the largest buyers stay.
local wallet_cap = tonumber(a[6])

local function slice(first, count)
  local t = {}
  for k = 0, count - 1 do t[k + 1] = a[first + k] end
  return t
end

-- Lua's unpack has a stack limit: call variadic commands in slices of at most 1000 items.
local function variadic(cmd, key, extra, list)
  local step = 1000
  for s = 1, #list, step do
    local part = {}
    for k = s, math.min(s + step - 1, #list) do part[#part + 1] = list[k] end
    if extra then
      redis.call(cmd, key, extra, unpack(part))
    else
      redis.call(cmd, key, unpack(part))
    end
  end
end

-- 1. Every entry must still be pending for this consumer; otherwise another consumer owns it now
--    (reclaimed while we were slow) and will apply it itself.
local n = tonumber(a[i]); i = i + 1
local ids = slice(i, n); i = i + n
local lo, hi = a[i], a[i + 1]; i = i + 2
if n > 0 then
  local limit = n * 2 + 64
  local rows = redis.call('XPENDING', stream, group, lo, hi, limit, consumer)
  local owned = {}
  for _, r in ipairs(rows) do owned[r[1]] = true end
  local truncated = #rows >= limit
  local lost = {}
  for k = 1, n do
    local id = ids[k]
    if not owned[id] then
      if not truncated or #redis.call('XPENDING', stream, group, id, id, 1, consumer) == 0 then
        lost[#lost + 1] = id
      end
    end
  end
  if #lost > 0 then return {'lost', lost} end
end

-- 2. Duplicate guard: a signature already counted from another entry is not counted again. One
--    SMISMEMBER and one SADD per marker set (a few per batch), not one call per signature.
local nsets = tonumber(a[i]); i = i + 1
local sets = {}
local dups = {}
for s = 1, nsets do
  local key = a[i]
  local m = tonumber(a[i + 1])
  local members = slice(i + 2, m)
  i = i + 2 + m
  sets[s] = {key, members}
  for p = 1, m, 1000 do
    local part = {}
    for k = p, math.min(p + 999, m) do part[#part + 1] = members[k] end
    local seen = redis.call('SMISMEMBER', key, unpack(part))
    for k = 1, #seen do
      if seen[k] == 1 then dups[#dups + 1] = part[k] end
    end
  end
end
if #dups > 0 then return {'dup', dups} end
for _, set in ipairs(sets) do
  variadic('SADD', set[1], nil, set[2])
  redis.call('EXPIRE', set[1], dedup_ttl)
end

-- 3. Dead letters, with their reason and original payload.
local nd = tonumber(a[i]); i = i + 1
for d = 1, nd do
  redis.call('XADD', dead_stream, '*', 'id', a[i], 'reason', a[i + 1], 'data', a[i + 2])
  i = i + 3
end

-- 4. Counters: HINCRBY key field n, ZINCRBY key n member, then EXPIRE key ttl.
local nc = tonumber(a[i]); i = i + 1
for c = 1, nc do
  redis.call('HINCRBY', a[i], a[i + 1], a[i + 2])
  i = i + 3
end
local nz = tonumber(a[i]); i = i + 1
local capped = {}
for z = 1, nz do
  redis.call('ZINCRBY', a[i], a[i + 1], a[i + 2])
  capped[a[i]] = true
  i = i + 3
end
-- The per-wallet buy volumes (the only sorted sets incremented above) keep their `wallet_cap`
-- largest members: rank 0 is the smallest (score, then member), so the smallest are dropped.
-- One ZCARD per key touched; the trim only when over the cap. The count goes back to Rust.
local trimmed = 0
for key in pairs(capped) do
  local size = redis.call('ZCARD', key)
  if size > wallet_cap then
    trimmed = trimmed + redis.call('ZREMRANGEBYRANK', key, 0, size - wallet_cap - 1)
  end
end
-- 5. Sets: PFADD key members…, ZADD key LT|GT score member…, each variadic per key.
local np = tonumber(a[i]); i = i + 1
for p = 1, np do
  local key, m = a[i], tonumber(a[i + 1])
  variadic('PFADD', key, nil, slice(i + 2, m))
  i = i + 2 + m
end
local nzs = tonumber(a[i]); i = i + 1
for z = 1, nzs do
  local key, mode, m = a[i], a[i + 1], tonumber(a[i + 2])
  variadic('ZADD', key, mode, slice(i + 3, 2 * m))
  i = i + 3 + 2 * m
end
local ne = tonumber(a[i]); i = i + 1
for e = 1, ne do
  redis.call('EXPIRE', a[i], a[i + 1])
  i = i + 2
end

-- 6. Acknowledge.
if n > 0 then variadic('XACK', stream, group, ids) end
return {'ok', n, trimmed}
