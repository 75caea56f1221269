-- Closes one batch atomically: either everything below happens, or nothing does.
-- ARGV is a flat program built by commit.rs; sections are read in order.
local a = ARGV
local i = 1
local function nxt()
  local v = a[i]
  i = i + 1
  return v
end
local function call_chunked(cmd, key, list, extra)
  -- Lua's unpack has a stack limit: send long member lists in slices.
  local step = 1000
  for s = 1, #list, step do
    local slice = {}
    for k = s, math.min(s + step - 1, #list) do slice[#slice + 1] = list[k] end
    if extra then
      redis.call(cmd, key, extra, unpack(slice))
    else
      redis.call(cmd, key, unpack(slice))
    end
  end
end

local stream, group, consumer, dead_stream = nxt(), nxt(), nxt(), nxt()
local dedup_ttl = nxt()

-- 1. Every entry must still be pending for this consumer; otherwise another consumer owns it now
--    (reclaimed while we were slow) and will apply it itself.
local n = tonumber(nxt())
local ids = {}
for k = 1, n do ids[k] = nxt() end
local lo, hi = nxt(), nxt()
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
      if truncated then
        if #redis.call('XPENDING', stream, group, id, id, 1, consumer) == 0 then
          lost[#lost + 1] = id
        end
      else
        lost[#lost + 1] = id
      end
    end
  end
  if #lost > 0 then return {'lost', lost} end
end

-- 2. Duplicate guard: a signature already committed from another entry is not counted again.
local nh = tonumber(nxt())
local claimed = {}
local dups = {}
for h = 1, nh do
  local key = nxt()
  local nf = tonumber(nxt())
  for f = 1, nf do
    local field = nxt()
    if redis.call('HSETNX', key, field, '1') == 1 then
      claimed[#claimed + 1] = {key, field}
    else
      dups[#dups + 1] = field
    end
  end
  redis.call('EXPIRE', key, dedup_ttl)
end
if #dups > 0 then
  for _, kf in ipairs(claimed) do redis.call('HDEL', kf[1], kf[2]) end
  return {'dup', dups}
end

-- 3. Dead letters, with their reason and original payload.
local nd = tonumber(nxt())
for d = 1, nd do
  local id, reason, payload = nxt(), nxt(), nxt()
  redis.call('XADD', dead_stream, '*', 'id', id, 'reason', reason, 'data', payload)
end

-- 4. Counters.
local nc = tonumber(nxt())
for c = 1, nc do redis.call('HINCRBY', nxt(), nxt(), nxt()) end
local np = tonumber(nxt())
for p = 1, np do
  local key = nxt()
  local m = tonumber(nxt())
  local members = {}
  for x = 1, m do members[x] = nxt() end
  call_chunked('PFADD', key, members)
end
local nz = tonumber(nxt())
for z = 1, nz do redis.call('ZINCRBY', nxt(), nxt(), nxt()) end
local ns = tonumber(nxt())
for s = 1, ns do redis.call('HSETNX', nxt(), nxt(), nxt()) end
local na = tonumber(nxt())
for x = 1, na do redis.call('ZADD', nxt(), 'GT', nxt(), nxt()) end
local ne = tonumber(nxt())
for e = 1, ne do redis.call('EXPIRE', nxt(), nxt()) end

-- 5. Acknowledge.
if n > 0 then call_chunked('XACK', stream, ids, group) end
return {'ok', n}
