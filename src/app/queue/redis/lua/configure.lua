-- configure: an admin's pause, rate and cap, from the database's settings.
redis.call('HSET', meta, 'rate', ARGV[3], 'max_active', ARGV[4], 'paused', ARGV[6])
return 'ok'
