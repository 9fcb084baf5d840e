/**
 * The Lua scripts of redis-limits.ts. A script runs atomically, so each operation checks and
 * updates every subject in one round trip with nothing interleaved. Times are the caller's
 * clock (epoch ms), so instances need synchronised clocks and tests can inject time. A call
 * needs ADMIT before its upstream call (rate limits and budget reservation) and a settle after
 * (reservation to real cost, token correction); settles wait in the store and ride along with
 * the next ADMIT (or go as one FINISH for all of them when none comes soon), so a steady stream
 * of calls costs one round trip each.
 *
 * Budgets: per subject and period a hash `<budget>` {spent, reserved} and a sorted set
 * `<budget>:r` of outstanding reservations (member `<micros>:<id>`, score = expiry); `reserved`
 * is always the sum of the set's micros, so a `reserved` of 0 means the set is empty (or gone).
 * Expired members are swept (their micros leave `reserved`) whenever a script reads a budget
 * whose `reserved` is above 0. Each reservation also has a record `<prefix>res:<id>` =
 * "<micros>\n<budget>\n<keep until>…", which settle deletes (so it settles once) and which
 * names the budgets and periods it was taken from. Settle builds those budget keys from the
 * record, so it touches keys it did not declare: fine on one Redis, not on a Redis Cluster (use
 * one hash tag in the prefix). Both budget keys get their expiry (the period's end plus the
 * late-settle window) when they are created, which is when they hold nothing yet.
 *
 * Rate limits: per subject a sorted set `rq` of requests (unique member, score = time) and a
 * token-weighted one `tk` (member `<tokens>:<id>`; a correction's tokens are negative) with its
 * running sum in `ts`. Both are
 * sliding logs, exact to the millisecond.
 *
 * Every `redis.call` costs a script 1–3 µs of the server's one thread, several times the cost of
 * a plain command: the scripts make as few as the logic needs (none on the path that only
 * answers headers, none to re-set an expiry that is already right).
 */

/** Sweeps expired reservations of a budget; returns spent, reserved and whether the hash is new. */
const SWEEP = `
local function sweep(h, z, now)
  local v = redis.call('HMGET', h, 'spent', 'reserved')
  local spent, reserved = tonumber(v[1]) or 0, tonumber(v[2]) or 0
  if reserved > 0 then
    local gone = redis.call('ZRANGEBYSCORE', z, '-inf', now, 'LIMIT', 0, 1000)
    if #gone > 0 then
      local freed = 0
      for _, m in ipairs(gone) do freed = freed + tonumber(string.match(m, '^%d+')) end
      redis.call('ZREM', z, unpack(gone))
      reserved = reserved - freed
      if reserved < 0 then reserved = 0 end
      redis.call('HSET', h, 'reserved', reserved)
    end
  end
  return spent, reserved, not v[1] and not v[2]
end
`;

/**
 * Drops what left the window from a subject's logs; returns requests and tokens in it. `keep`
 * only ever extends a key's expiry: a lease's entries are dated ahead (ADMIT), and a key must
 * live until its newest entry has left the window.
 */
const TRIM = `
local function keep(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
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
      for _, e in ipairs(old) do freed = freed + tonumber(string.match(e, '^-?%d+')) end
      redis.call('ZREMRANGEBYSCORE', tk, '-inf', cut)
      usedT = usedT - freed
      if usedT < 0 or redis.call('ZCARD', tk) == 0 then usedT = 0 end
      redis.call('SET', ts, usedT, 'KEEPTTL')
      keep(ts, 60000)
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
 * Settles calls (SETTLE, used by ADMIT and FINISH): per call its keys — the reservation record
 * when there is one, then tk, ts per tpm limit, then rq per limit whose requests go back — and
 * its arguments: key count, has record (1/0), id, actual, now, delta, uid, takenAt (when its
 * tokens were taken), then the requests given back: rq key count, the members' uid, first and
 * last index (a lease's unused requests, leases.ts: members `<uid>:<i>`; 0 0 for none).
 *
 * Releases the reservation and adds the real cost, once (nothing when there was nothing to
 * settle: settled before, or too late). Then corrects the taken token estimate by delta: more
 * tokens are logged now; fewer are an entry of negative weight at the time the estimate was
 * taken, so the two leave the window together and the running sum drops at once — two
 * commands, where finding and rewriting the estimate's entry took ten.
 */
const SETTLE = `
local function settle(k, nk, hasRecord, id, actual, now, delta, deltaText, uid, takenAt, nr, backUid, backFrom, backTo)
  local first = k
  if nr > 0 and backTo >= backFrom then
    local members = {}
    for j = backFrom, backTo do members[#members + 1] = backUid .. ':' .. j end
    for i = k + nk - nr, k + nk - 1 do redis.call('ZREM', KEYS[i], unpack(members)) end
  end
  if hasRecord == '1' then
    first = k + 1
    local record = redis.call('GET', KEYS[k])
    if record then
      redis.call('DEL', KEYS[k])
      local parts = {}
      for p in string.gmatch(record, '[^\\n]+') do parts[#parts + 1] = p end
      local m = tonumber(parts[1])
      local member = parts[1] .. ':' .. id
      for i = 2, #parts, 2 do
        local h, keepUntil = parts[i], tonumber(parts[i + 1])
        -- Still outstanding (not swept): its micros leave reserved; a swept one already left.
        if m > 0 and redis.call('ZREM', h .. ':r', member) == 1 then redis.call('HINCRBY', h, 'reserved', -m) end
        if actual > 0 then redis.call('HINCRBY', h, 'spent', actual) end
        if keepUntil > 0 then redis.call('PEXPIRE', h, math.max(keepUntil - now, 1000)) end
      end
    end
  end
  if delta == 0 then return end
  for i = first, k + nk - nr - 1, 2 do
    local tk, ts = KEYS[i], KEYS[i + 1]
    if delta > 0 then
      redis.call('ZADD', tk, now, deltaText .. ':' .. uid)
      redis.call('INCRBY', ts, delta)
      keep(tk, 60000)
      keep(ts, 60000)
    elseif takenAt > now - 60000 then
      -- The estimate's entry is still in the window (and so in ts, whose expiry outlives it);
      -- never more than the window holds comes off.
      local cut = math.min(-delta, tonumber(redis.call('GET', ts) or '0'))
      if cut > 0 then
        redis.call('ZADD', tk, takenAt, string.format('%d', -cut) .. ':' .. uid)
        redis.call('DECRBY', ts, cut)
      end
    end
  end
end
-- The settles packed from KEYS[k] and ARGV[a] on: ARGV[a] is their count, then 12 values each.
local function settleAll(k, a)
  local n = tonumber(ARGV[a] or '0')
  a = a + 1
  for _ = 1, n do
    local nk = tonumber(ARGV[a])
    settle(k, nk, ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), ARGV[a + 5], ARGV[a + 6], tonumber(ARGV[a + 7]),
      tonumber(ARGV[a + 8]), ARGV[a + 9], tonumber(ARGV[a + 10]), tonumber(ARGV[a + 11]))
    k, a = k + nk, a + 12
  end
end
`;

/**
 * KEYS: rq, tk, ts per rate limit; then budget hash and reservation set per budget; then, with
 * budgets, the reservation record.
 * ARGV: now, tokens, uid, micros, expiresAt, id, recordTtlMs, nLimits, nBudgets, requests, at,
 * then per limit: rpm, tpm (-1: none), then per budget: limit, keepMs (0 = forever).
 * `requests` is 1 for a call; a lease (leases.ts) takes more at once, members `<uid>:<i>`.
 * The request and token entries are dated `at`: a call's now, a lease's end (so its entries
 * stay in the window at least as long as any call it covers would have: never more than the
 * limit, whatever the lease's calls do).
 * Then, optionally, settles of earlier calls riding along (SETTLE's packing: their keys after
 * these keys, their count and arguments after these arguments), applied first.
 *
 * The rate limits first: when one has no room nothing is taken and nothing reserved. Else the
 * request is taken (a request counts whatever its budget says: a cache hit is served) and the
 * reservation is made against every budget, or against none when one would be exceeded.
 *
 * Returns {refused limit (0: taken), kind (1 requests, 2 tokens), fitAt (-1: never), then per
 * limit: used requests, newest request time (-1: none), used tokens, newest token time} — after
 * the take when it was taken, else as they stand — and, when the limits let the request through
 * and budgets were given, {refused budget (0: reserved), spent, reserved}.
 */
export const ADMIT = `${TRIM}${SWEEP}${SETTLE}
local now, tokens, uid = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local nL, nB = tonumber(ARGV[8]), tonumber(ARGV[9])
local requests, at = tonumber(ARGV[10]), tonumber(ARGV[11])
local recordKey = 3 * nL + 2 * nB + 1
settleAll(nB > 0 and recordKey + 1 or recordKey, 12 + 2 * nL + 2 * nB)
local out = {0, 0, -1}
if nL > 0 then
  local cut = now - 60000
  for i = 1, nL do
    local rq, tk, ts = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
    local rpm, tpm = tonumber(ARGV[10 + 2 * i]), tonumber(ARGV[11 + 2 * i])
    local usedR, usedT = trim(rq, tk, ts, cut, rpm, tpm)
    out[4 * i], out[4 * i + 1], out[4 * i + 2], out[4 * i + 3] = usedR, -1, usedT, -1
    if out[1] == 0 then
      if rpm >= 0 and usedR + requests > rpm then
        out[1], out[2] = i, 1
        -- The (usedR - rpm + requests)th oldest request has to leave first.
        if rpm >= requests then out[3] = tonumber(redis.call('ZRANGE', rq, usedR - rpm + requests - 1, usedR - rpm + requests - 1, 'WITHSCORES')[2]) + 60000 end
      elseif tpm >= 0 and usedT + tokens > tpm then
        out[1], out[2] = i, 2
        if tokens <= tpm then
          local freed = 0
          local log = redis.call('ZRANGE', tk, 0, -1, 'WITHSCORES')
          for j = 1, #log, 2 do
            freed = freed + tonumber(string.match(log[j], '^-?%d+'))
            if usedT - freed + tokens <= tpm then out[3] = tonumber(log[j + 1]) + 60000 break end
          end
        end
      end
    end
  end
  if out[1] ~= 0 then
    -- Refused: the headers say when each window is whole again.
    for i = 1, nL do
      if tonumber(ARGV[10 + 2 * i]) >= 0 then out[4 * i + 1] = newest(KEYS[3 * i - 2]) end
      if tonumber(ARGV[11 + 2 * i]) >= 0 then out[4 * i + 3] = newest(KEYS[3 * i - 1]) end
    end
    return out
  end
  for i = 1, nL do
    local rq, tk, ts = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
    local rpm, tpm = tonumber(ARGV[10 + 2 * i]), tonumber(ARGV[11 + 2 * i])
    -- Keys live until their newest entry leaves the window.
    local ttl = at - now + 60000
    if rpm >= 0 then
      if requests == 1 then
        redis.call('ZADD', rq, at, uid)
      else
        local entries = {}
        for j = 1, requests do
          entries[2 * j - 1], entries[2 * j] = at, uid .. ':' .. j
        end
        redis.call('ZADD', rq, unpack(entries))
      end
      keep(rq, ttl)
      out[4 * i] = out[4 * i] + requests
      out[4 * i + 1] = at
    end
    if tpm >= 0 then
      if tokens > 0 then
        redis.call('ZADD', tk, at, ARGV[2] .. ':' .. uid)
        keep(tk, ttl)
        out[4 * i + 2] = out[4 * i + 2] + tokens
        redis.call('SET', ts, out[4 * i + 2], 'KEEPTTL')
        keep(ts, ttl)
        out[4 * i + 3] = at
      else
        out[4 * i + 3] = newest(tk)
      end
    end
  end
end
if nB == 0 then return out end
local m, exp, id, recTtl = tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
local base, a, o = 3 * nL, 10 + 2 * nL, 4 * nL + 4
local fresh, empty = {}, {}
for j = 1, nB do
  local spent, reserved, new = sweep(KEYS[base + 2 * j - 1], KEYS[base + 2 * j], now)
  if m > 0 and spent + reserved + m > tonumber(ARGV[a + 2 * j]) then
    out[o], out[o + 1], out[o + 2] = j, spent, reserved
    return out
  end
  fresh[j], empty[j] = new, reserved == 0
end
local member = ARGV[4] .. ':' .. id
local record = {ARGV[4]}
for j = 1, nB do
  local h, z, keep = KEYS[base + 2 * j - 1], KEYS[base + 2 * j], tonumber(ARGV[a + 2 * j + 1])
  if m > 0 then
    redis.call('HINCRBY', h, 'reserved', m)
    redis.call('ZADD', z, exp, member)
    -- A period's counters outlive it by the late-settle window, so late settles still land.
    if keep > 0 and fresh[j] then redis.call('PEXPIRE', h, keep) end
    if keep > 0 and empty[j] then redis.call('PEXPIRE', z, keep) end
  end
  record[#record + 1] = h
  record[#record + 1] = keep > 0 and (now + keep) or 0
end
redis.call('SET', KEYS[recordKey], table.concat(record, '\\n'), 'PX', recTtl)
out[o], out[o + 1], out[o + 2] = 0, 0, 0
return out
`;

/** KEYS and ARGV: the settles as SETTLE packs them, from the first key and argument on. */
export const FINISH = `${TRIM}${SETTLE}
settleAll(1, 1)
return 0
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
