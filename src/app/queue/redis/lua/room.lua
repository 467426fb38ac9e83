-- The waiting room of one queued sale, shared by every `serve` process. This
-- prelude is run before each operation's own lines, all in one EVALSHA: a
-- round trip per operation, and Redis runs each script alone (atomically).
--
-- Keys (one set per sale):
--   KEYS[1] meta    hash: settings, whether it opened, credit, counters
--   KEYS[2] queue   zset user -> place; pre-queue places are sealed lottery
--                   draws below LOTTERY_END, later arrivals get numbered
--                   tickets above it, so the lowest score is next in line
--   KEYS[3] active  zset user -> end of idle time (ms)
--   KEYS[4] admits  hash user -> "seq:issued_ms:jti"
--   KEYS[5] spent   zset jti of ended admissions -> when to forget it (ms)
--   KEYS[6] recent  list of admission times (ms), newest first, for the pace
-- Every step is O(log n) in the queue's length; a tick also does O(log n)
-- per admission it makes or ends.
--
-- ARGV: 1 now (ms, the app's clock, never Redis TIME), 2 opens_at (ms),
-- 3 rate per second, 4 max active, 5 idle time (ms), 6 paused (0/1), 7 nonce,
-- 8 how long spent ids are kept (ms), 9 pace window (ms), 10 user, 11 the
-- operation's own argument (lottery draw, admission id).
local meta, queue, active, admits, spent, recent =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local now = tonumber(ARGV[1])
local user = ARGV[10]
local LOTTERY_END = 4503599627370496 -- 2^52: draws below, tickets above

-- Numbers as exact integer strings (tostring would round big ones).
local function int(x)
  return string.format('%d', x)
end

-- A room that lost its state (or never had one) starts from the settings.
if redis.call('EXISTS', meta) == 0 then
  redis.call('HSET', meta, 'opens_at', ARGV[2], 'rate', ARGV[3], 'max_active', ARGV[4],
    'idle_ms', ARGV[5], 'paused', ARGV[6], 'nonce', ARGV[7], 'opened', '0',
    'credit', '0', 'next_ticket', '0', 'admissions', '0')
end

local function setting(name)
  return redis.call('HGET', meta, name)
end

local opens_at = tonumber(setting('opens_at'))
local idle_ms = tonumber(setting('idle_ms'))

local function parse_admission(a)
  local seq, issued, jti = string.match(a, '^(%d+):(%d+):(.+)$')
  return seq, issued, jti
end

-- Ends an admission: its slot is free and its id is spent.
local function finish(u)
  local a = redis.call('HGET', admits, u)
  if a then
    local _, _, jti = parse_admission(a)
    redis.call('ZADD', spent, int(now + tonumber(ARGV[8])), jti)
    redis.call('HDEL', admits, u)
    redis.call('ZREM', active, u)
  end
end

local function admit(u)
  local seq = redis.call('HINCRBY', meta, 'admissions', 1)
  local jti = setting('nonce') .. '-' .. seq
  redis.call('HSET', admits, u, seq .. ':' .. int(now) .. ':' .. jti)
  redis.call('ZADD', active, int(now + idle_ms), u)
  redis.call('LPUSH', recent, int(now))
end

-- Opens the room, ends idle admissions, forgets old spent ids and admits at
-- the rate while slots are free.
local function tick()
  if now < opens_at then
    return
  end
  if setting('opened') ~= '1' then
    redis.call('HSET', meta, 'opened', '1')
  end
  for _, u in ipairs(redis.call('ZRANGEBYSCORE', active, '-inf', int(now))) do
    finish(u)
  end
  redis.call('ZREMRANGEBYSCORE', spent, '-inf', '(' .. int(now))
  local window_start = now - tonumber(ARGV[9])
  while true do
    local oldest = redis.call('LINDEX', recent, -1)
    if not oldest or tonumber(oldest) >= window_start then
      break
    end
    redis.call('RPOP', recent)
  end
  local last = setting('last_tick')
  local elapsed = 1.0
  if last then
    elapsed = math.max(0, now - tonumber(last)) / 1000
  end
  redis.call('HSET', meta, 'last_tick', int(now))
  if setting('paused') == '1' then
    return
  end
  local max_active = tonumber(setting('max_active'))
  local credit = math.min(tonumber(setting('credit')) + elapsed * tonumber(setting('rate')), max_active)
  local busy = redis.call('ZCARD', active)
  while credit >= 1 and busy < max_active do
    local head = redis.call('ZPOPMIN', queue)
    if #head == 0 then
      break
    end
    admit(head[1])
    credit = credit - 1
    busy = busy + 1
  end
  redis.call('HSET', meta, 'credit', tostring(credit))
end

-- Where user `u` stands, as strings:
--   {'none'} | {'pre', waiting} | {'wait', position, recent admissions}
--   | {'admitted', seq, issued_ms, idle_until_ms, jti}
local function place(u)
  local a = redis.call('HGET', admits, u)
  if a then
    local seq, issued, jti = parse_admission(a)
    return {'admitted', seq, issued, int(tonumber(redis.call('ZSCORE', active, u))), jti}
  end
  if not redis.call('ZSCORE', queue, u) then
    return {'none'}
  end
  if setting('opened') ~= '1' then
    return {'pre', tostring(redis.call('ZCARD', queue))}
  end
  return {'wait', tostring(redis.call('ZRANK', queue, u) + 1), tostring(redis.call('LLEN', recent))}
end
