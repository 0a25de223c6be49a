"""Several signaling nodes sharing one Redis (docs/scale-out.md).

One node at a time runs the switchboard (the *leader*, by a lease key with a TTL); every
other node accepts sockets and forwards their frames to it over Redis pub/sub
(:mod:`.remote`). Sessions, resume tokens, call tickets, presence and the replay history are
written behind to Redis (:mod:`.store`), so when the leader dies another node takes the
lease and its clients resume there with their replay and their call. :mod:`.node` keeps the
Redis connection (bounded backoff, never fatal), the node's liveness key and the lease.
"""
