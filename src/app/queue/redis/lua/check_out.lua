-- check_out: the admission ends with a purchase; its token is spent.
finish(user)
return 'ok'
