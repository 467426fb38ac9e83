-- join: ARGV[11] is a lottery draw in [0, 2^52), used if the room is not open
-- yet. The draw is sealed: nobody sees a place before opening, so arriving
-- early gives no edge, and opening needs no shuffle of the whole pre-queue.
tick()
if redis.call('HEXISTS', admits, user) == 0 and not redis.call('ZSCORE', queue, user) then
  if setting('opened') == '1' then
    local ticket = redis.call('HINCRBY', meta, 'next_ticket', 1)
    redis.call('ZADD', queue, int(LOTTERY_END + ticket), user)
  else
    redis.call('ZADD', queue, ARGV[11], user)
  end
  -- A newcomer to a room with free slots is admitted at once.
  tick()
end
return place(user)
