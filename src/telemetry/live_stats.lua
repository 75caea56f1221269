-- Merges one process's live-stats part into the shared view, atomically.
-- KEYS[1] hash of parts (field = process, value = JSON object of numbers)
-- KEYS[2] the merged JSON key (`pocketwatcher:live_stats`)
-- ARGV[1] this process's field, ARGV[2] its part (JSON object)
-- ARGV[3] seconds after which a part that was not refreshed is dropped
-- ARGV[4] TTL of the merged key (seconds)
-- Times come from the server's clock, so processes on hosts with skewed clocks agree.
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local stale = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])

local part = cjson.decode(ARGV[2])
part['updated_at'] = now
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(part))
redis.call('EXPIRE', KEYS[1], ttl * 120)

-- Totals and rates add up across processes (two consumers each process half); levels such as
-- lag, lengths and uptime take the largest report.
local additive = {
  tx_per_second = true, transactions_processed = true, swaps_detected = true,
  alerts_sent = true, transactions_ingested = true, ingest_tx_per_second = true,
}
local merged = {
  tx_per_second = 0, swaps_detected = 0, hot_tokens_current = 0,
  processing_lag_seconds = 0, stream_length = 0, uptime_seconds = 0,
  transactions_processed = 0, alerts_sent = 0,
}
local processes = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local ok, p = pcall(cjson.decode, all[i + 1])
  if not ok or type(p) ~= 'table' or type(p['updated_at']) ~= 'number'
      or now - p['updated_at'] > stale then
    redis.call('HDEL', KEYS[1], all[i])
  else
    table.insert(processes, all[i])
    for k, v in pairs(p) do
      if type(v) == 'number' and k ~= 'updated_at' then
        if additive[k] then
          merged[k] = (merged[k] or 0) + v
        elseif merged[k] == nil or v > merged[k] then
          merged[k] = v
        end
      end
    end
  end
end
table.sort(processes)
merged['processes'] = processes
merged['updated_at'] = now
redis.call('SET', KEYS[2], cjson.encode(merged), 'EX', ttl)
return #processes
