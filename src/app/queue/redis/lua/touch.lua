-- touch: ARGV[11] is the admission id from a genuine token of this user and
-- sale. Only their current, unexpired admission passes; it counts as activity.
tick()
local jti = ARGV[11]
if redis.call('ZSCORE', spent, jti) then
  return 'replay'
end
local a = redis.call('HGET', admits, user)
if not a then
  return 'expired'
end
local _, _, current = parse_admission(a)
local idle_until = tonumber(redis.call('ZSCORE', active, user))
if current ~= jti or not idle_until or idle_until <= now then
  return 'expired'
end
redis.call('ZADD', active, int(now + idle_ms), user)
return 'ok'
