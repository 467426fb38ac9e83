-- leave: out of the queue (or the pre-queue), or the admission given up.
redis.call('ZREM', queue, user)
finish(user)
return 'ok'
