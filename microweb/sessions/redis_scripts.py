"""The Lua scripts of the Redis session store, each with the keys it declares.

Every script declares every key it touches (KEYS), so on Redis Cluster one script
never spans two slots: the keys of one call share the user's hash tag, or there
is only one. Redis names a script by the SHA-1 of its source (`Script.sha`).
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

__all__ = ["DESTROY", "DESTROY_USER", "INDEX", "LOAD", "SAVE", "SAVE_SIGNED_IN", "Script"]


class Script(NamedTuple):
    source: str
    sha: str


def _script(source: str) -> Script:
    # Redis names scripts by their SHA-1; it is an identifier here, not a security measure.
    return Script(source, hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest())


LOAD = _script("""
local record = redis.call('HGETALL', KEYS[1])
if #record > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return record
""")

# ARGV: ttl_ms, create ('1'/'0'), n changed, n*(field, value), removed fields...
SAVE = _script("""
if redis.call('EXISTS', KEYS[1]) == 0 and ARGV[2] ~= '1' then return 0 end
local n = tonumber(ARGV[3])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + 2 * n)) end
if #ARGV > 3 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 4 + 2 * n, #ARGV)) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
""")

# Index ARGV[sid_at] under the user (KEYS[index], KEYS[gen]) for ARGV[ttl_at] ms: drop the
# expired entries, add this one, and keep the index (and a generation) alive as long.
_INDEX_BODY = """
local ttl = tonumber(ARGV[{ttl_at}])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[{index}], '-inf', now)
redis.call('ZADD', KEYS[{index}], now + ttl, ARGV[{sid_at}])
if redis.call('PTTL', KEYS[{index}]) < ttl then redis.call('PEXPIRE', KEYS[{index}], ttl) end
local gen_ttl = redis.call('PTTL', KEYS[{gen}])
if gen_ttl ~= -2 and gen_ttl < ttl then redis.call('PEXPIRE', KEYS[{gen}], ttl) end
return 1
"""

# KEYS: index, generation. ARGV: ttl_ms, sid.
INDEX = _script(_INDEX_BODY.format(index=1, gen=2, ttl_at=1, sid_at=2))

# KEYS: session, index, generation. ARGV: ttl_ms, index_ttl_ms, sid, expected generation
# ('' for a fresh sign-in), n changed, n*(field, value), removed fields...
SAVE_SIGNED_IN = _script(
    """
local gen = redis.call('GET', KEYS[3]) or '0'
if ARGV[4] ~= '' and ARGV[4] ~= gen then return 0 end
local n = tonumber(ARGV[5])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 6, 5 + 2 * n)) end
if #ARGV > 5 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 6 + 2 * n, #ARGV)) end
redis.call('HSET', KEYS[1], '__gen', gen)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
"""
    + _INDEX_BODY.format(index=2, gen=3, ttl_at=2, sid_at=3)
)

# KEYS: the session. ARGV: the channel ended sessions are announced on, the session's end
# key. A signed-in session is announced in the same step as its delete.
DESTROY = _script("""
local signed_in = redis.call('HEXISTS', KEYS[1], '__user')
if redis.call('DEL', KEYS[1]) == 1 and signed_in == 1 then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
end
return 1
""")

# KEYS: index, generation, the sessions' keys. ARGV: the channel ended sessions are
# announced on, then n sids, then their n end keys. Announces the sessions it deleted;
# returns the sids the index still holds (added meanwhile, or kept in other slots).
DESTROY_USER = _script("""
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
redis.call('INCR', KEYS[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 and redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
local n = (#ARGV - 1) / 2
local ended = {}
for i = 1, n do
  if redis.call('DEL', KEYS[2 + i]) == 1 then ended[#ended + 1] = ARGV[1 + n + i] end
  redis.call('ZREM', KEYS[1], ARGV[1 + i])
end
if #ended > 0 then redis.call('PUBLISH', ARGV[1], table.concat(ended, ' ')) end
local left = redis.call('ZRANGE', KEYS[1], 0, -1)
if #left == 0 then redis.call('DEL', KEYS[1]) end
return left
""")
