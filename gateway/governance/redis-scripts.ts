/**
 * The Lua scripts of redis-limits.ts. A script runs atomically, so each operation checks and
 * updates every subject in one round trip with nothing interleaved. Times are the caller's
 * clock (epoch ms), so instances need synchronised clocks and tests can inject time.
 *
 * Budgets: per subject and period a hash `<budget>` {spent, reserved} and a sorted set
 * `<budget>:r` of outstanding reservations (member `<micros>:<id>`, score = expiry). Expired
 * members are swept (their micros leave `reserved`) at the start of every script that reads a
 * budget. Each reservation also has a record `<prefix>res:<id>` = "<micros>\n<budget>\n<keep
 * until>…", which settle deletes (so it settles once) and which names the budgets and periods
 * it was taken from. Settle builds those budget keys from the record, so it touches keys it
 * did not declare: fine on one Redis, not on a Redis Cluster (use one hash tag in the prefix).
 *
 * Rate limits: per subject a sorted set `rq` of requests (unique member, score = time) and a
 * token-weighted one `tk` (member `<tokens>:<id>`) with its running sum in `ts`. Both are
 * sliding logs, exact to the millisecond.
 */

/** Sweeps expired reservations of budget i; leaves spent and reserved in `spent`, `reserved`. */
const SWEEP = `
local function sweep(h, z, now)
  local gone = redis.call('ZRANGEBYSCORE', z, '-inf', now, 'LIMIT', 0, 1000)
  local v = redis.call('HMGET', h, 'spent', 'reserved')
  local spent, reserved = tonumber(v[1]) or 0, tonumber(v[2]) or 0
  if #gone > 0 then
    local freed = 0
    for _, m in ipairs(gone) do freed = freed + tonumber(string.match(m, '^%d+')) end
    redis.call('ZREM', z, unpack(gone))
    reserved = reserved - freed
    if reserved < 0 then reserved = 0 end
    redis.call('HSET', h, 'reserved', reserved)
  end
  return spent, reserved
end
`;

/**
 * KEYS: budget hash and reservation set per budget, then the reservation record.
 * ARGV: micros, now, expiresAt, id, recordTtlMs, then per budget: limit, keepMs (0 = forever).
 * Returns {0} when reserved, else {i, spent, reserved} for the first budget that does not fit.
 */
export const RESERVE = `${SWEEP}
local m, now, exp, id, recTtl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local n = (#KEYS - 1) / 2
local refused
for i = 1, n do
  local spent, reserved = sweep(KEYS[2 * i - 1], KEYS[2 * i], now)
  if not refused and m > 0 and spent + reserved + m > tonumber(ARGV[4 + 2 * i]) then refused = {i, spent, reserved} end
end
if refused then return refused end
local member = ARGV[1] .. ':' .. id
local record = {ARGV[1]}
for i = 1, n do
  local h, z, keep = KEYS[2 * i - 1], KEYS[2 * i], tonumber(ARGV[5 + 2 * i])
  if m > 0 then
    redis.call('HINCRBY', h, 'reserved', m)
    redis.call('ZADD', z, exp, member)
  end
  if keep > 0 then
    redis.call('PEXPIRE', h, keep)
    redis.call('PEXPIRE', z, keep)
  end
  record[#record + 1] = h
  record[#record + 1] = keep > 0 and (now + keep) or 0
end
redis.call('SET', KEYS[#KEYS], table.concat(record, '\\n'), 'PX', recTtl)
return {0}
`;

/**
 * KEYS: the reservation record. ARGV: id, actual, now.
 * Returns 1 when settled, 0 when there was nothing to settle (settled before, or too late).
 */
export const SETTLE = `
local record = redis.call('GET', KEYS[1])
if not record then return 0 end
redis.call('DEL', KEYS[1])
local parts = {}
for p in string.gmatch(record, '[^\\n]+') do parts[#parts + 1] = p end
local m, actual, now = tonumber(parts[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local member = parts[1] .. ':' .. ARGV[1]
for i = 2, #parts, 2 do
  local h, keepUntil = parts[i], tonumber(parts[i + 1])
  -- Still outstanding (not swept): its micros leave reserved; a swept one already left.
  if m > 0 and redis.call('ZREM', h .. ':r', member) == 1 then redis.call('HINCRBY', h, 'reserved', -m) end
  if actual > 0 then redis.call('HINCRBY', h, 'spent', actual) end
  if keepUntil > 0 then redis.call('PEXPIRE', h, math.max(keepUntil - now, 1000)) end
end
return 1
`;

/** KEYS: budget hash and reservation set per budget. ARGV: now. Returns spent, reserved per budget. */
export const SPEND = `${SWEEP}
local out = {}
for i = 1, #KEYS / 2 do
  local spent, reserved = sweep(KEYS[2 * i - 1], KEYS[2 * i], tonumber(ARGV[1]))
  out[2 * i - 1], out[2 * i] = spent, reserved
end
return out
`;

/** Drops what left the window from subject i's logs; returns requests and tokens in it. */
const TRIM = `
local function trim(rq, tk, ts, cut, rpm, tpm)
  local usedR, usedT = 0, 0
  if rpm >= 0 then
    redis.call('ZREMRANGEBYSCORE', rq, '-inf', cut)
    usedR = redis.call('ZCARD', rq)
  end
  if tpm >= 0 then
    local old = redis.call('ZRANGEBYSCORE', tk, '-inf', cut)
    usedT = tonumber(redis.call('GET', ts) or '0')
    if #old > 0 then
      local freed = 0
      for _, e in ipairs(old) do freed = freed + tonumber(string.match(e, '^%d+')) end
      redis.call('ZREMRANGEBYSCORE', tk, '-inf', cut)
      usedT = usedT - freed
      if usedT < 0 or redis.call('ZCARD', tk) == 0 then usedT = 0 end
      redis.call('SET', ts, usedT, 'PX', 60000)
    end
  end
  return usedR, usedT
end
local function newest(z)
  local e = redis.call('ZRANGE', z, -1, -1, 'WITHSCORES')
  if #e == 0 then return -1 end
  return tonumber(e[2])
end
`;

/**
 * KEYS: rq, tk, ts per subject. ARGV: now, tokens, uid, then per subject: rpm, tpm (-1: none).
 * Returns {refused subject (0: taken), kind (1 requests, 2 tokens), fitAt (-1: never), then
 * per subject: used requests, newest request time (-1: none), used tokens, newest token time}
 * — after the take when it was taken, else as they stand.
 */
export const TAKE = `${TRIM}
local now, tokens, uid = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local cut = now - 60000
local n = #KEYS / 3
local out = {0, 0, -1}
for i = 1, n do
  local rq, tk, ts = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local rpm, tpm = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  local usedR, usedT = trim(rq, tk, ts, cut, rpm, tpm)
  out[4 * i] = usedR
  out[4 * i + 1] = rpm >= 0 and newest(rq) or -1
  out[4 * i + 2] = usedT
  out[4 * i + 3] = tpm >= 0 and newest(tk) or -1
  if out[1] == 0 then
    if rpm >= 0 and usedR + 1 > rpm then
      out[1], out[2] = i, 1
      -- The (usedR - rpm + 1)th oldest request has to leave first.
      if rpm > 0 then out[3] = tonumber(redis.call('ZRANGE', rq, usedR - rpm, usedR - rpm, 'WITHSCORES')[2]) + 60000 end
    elseif tpm >= 0 and usedT + tokens > tpm then
      out[1], out[2] = i, 2
      if tokens <= tpm then
        local freed = 0
        local log = redis.call('ZRANGE', tk, 0, -1, 'WITHSCORES')
        for j = 1, #log, 2 do
          freed = freed + tonumber(string.match(log[j], '^%d+'))
          if usedT - freed + tokens <= tpm then out[3] = tonumber(log[j + 1]) + 60000 break end
        end
      end
    end
  end
end
if out[1] ~= 0 then return out end
for i = 1, n do
  local rq, tk, ts = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local rpm, tpm = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  if rpm >= 0 then
    redis.call('ZADD', rq, now, uid)
    redis.call('PEXPIRE', rq, 60000)
    out[4 * i] = out[4 * i] + 1
    out[4 * i + 1] = now
  end
  if tpm >= 0 and tokens > 0 then
    redis.call('ZADD', tk, now, ARGV[2] .. ':' .. uid)
    redis.call('PEXPIRE', tk, 60000)
    out[4 * i + 2] = redis.call('INCRBY', ts, tokens)
    redis.call('PEXPIRE', ts, 60000)
    out[4 * i + 3] = now
  end
end
return out
`;

/**
 * KEYS: tk, ts per subject. ARGV: now, delta, uid. More tokens are logged now; fewer come off
 * the newest entries first (the call being corrected is among the latest), never below 0.
 */
export const ADJUST = `${TRIM}
local now, delta, uid = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
for i = 1, #KEYS / 2 do
  local tk, ts = KEYS[2 * i - 1], KEYS[2 * i]
  local _, usedT = trim(nil, tk, ts, now - 60000, -1, 0)
  if delta > 0 then
    redis.call('ZADD', tk, now, ARGV[2] .. ':' .. uid)
    redis.call('INCRBY', ts, delta)
  elseif usedT > 0 then
    local need = -delta
    -- Newest entries first, a few at a time: a correction usually fits in the newest one, and
    -- reading a long log whole would cost the server far more than the correction.
    local from = 0
    while need > 0 and from < 1000 do
      local log = redis.call('ZREVRANGE', tk, from, from + 7, 'WITHSCORES')
      if #log == 0 then break end
      for j = 1, #log, 2 do
        if need <= 0 then break end
        local member = log[j]
        local digits, rest = string.match(member, '^(%d+)(.*)$')
        local w = tonumber(digits)
        local cut = math.min(w, need)
        redis.call('ZREM', tk, member)
        if w > cut then
          redis.call('ZADD', tk, log[j + 1], string.format('%d', w - cut) .. rest)
          from = from + 1
        end
        redis.call('DECRBY', ts, cut)
        need = need - cut
      end
    end
  end
  redis.call('PEXPIRE', tk, 60000)
  redis.call('PEXPIRE', ts, 60000)
end
return 1
`;
