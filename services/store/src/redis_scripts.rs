//! The Lua scripts that make every multi-key change of the Redis backend atomic.
//!
//! Layout, per table: each entry is a hash `{prefix:table}:v:{key}` with fields `v` (version)
//! and `d` (bytes), expiring with the entry's ttl; the index `{prefix:table}:i` is a sorted set
//! of every key, all scored 0, so that `ZRANGEBYLEX` finds a prefix without `KEYS`. Index
//! members whose entry has expired are removed lazily by scans. The hash tag keeps a table in
//! one cluster slot, which the scan and delete-prefix scripts need.

/// `KEYS`: entry, index. `ARGV`: mode (`any`/`absent`/`version`), expected version, bytes,
/// ttl in ms (0 = none), index member. Returns the new version, or -1 on a failed expectation.
pub(crate) const PUT: &str = r"
local current = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == 'absent' then
  if current then return -1 end
elseif ARGV[1] == 'version' then
  if current ~= ARGV[2] then return -1 end
end
local version = redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('HSET', KEYS[1], 'd', ARGV[3])
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  redis.call('PERSIST', KEYS[1])
end
redis.call('ZADD', KEYS[2], 0, ARGV[5])
return version
";

/// `KEYS`: entry, index, guard entry, then an entry and its index for each index entry written
/// alongside. `ARGV`: bytes, index member, then the index entries' members. Returns `{0}` when
/// the guard is missing, `{-1}` when the entry exists, else `{version, guard version, guard
/// bytes}`. The guard and the index entries are other tables' entries, so this script spans
/// several hash tags: it needs a single Redis server (or the tables in one slot), as the
/// platform runs it.
pub(crate) const INSERT_GUARDED: &str = r"
local guard = redis.call('HMGET', KEYS[3], 'v', 'd')
if not guard[1] then return {0} end
if redis.call('EXISTS', KEYS[1]) == 1 then return {-1} end
local version = redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('HSET', KEYS[1], 'd', ARGV[1])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
for i = 3, #ARGV do
  local entry, index = KEYS[2 * i - 2], KEYS[2 * i - 1]
  redis.call('HSET', entry, 'v', 1, 'd', '')
  redis.call('ZADD', index, 0, ARGV[i])
end
return {version, guard[1], guard[2]}
";

/// `KEYS`: entry, index. `ARGV`: index member. Returns 1 if the entry existed, else 0.
pub(crate) const DELETE: &str = r"
local existed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return existed
";

/// `KEYS`: entry, index, then an entry and its index for each entry removed with it. `ARGV`:
/// index member, expected bytes, then the members of the entries removed with it. Returns 1
/// if the entry held exactly those bytes and went (with the others), else 0. Spans several
/// hash tags when others go with it, as `INSERT_GUARDED` does.
pub(crate) const DELETE_IF_VALUE: &str = r"
if redis.call('HGET', KEYS[1], 'd') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
for i = 3, #ARGV do
  redis.call('DEL', KEYS[2 * i - 3])
  redis.call('ZREM', KEYS[2 * i - 2], ARGV[i])
end
return 1
";

/// `KEYS`: index. `ARGV`: entry key prefix of the table, key prefix to scan. Returns a flat
/// array `key, version, bytes, ...` in key order.
pub(crate) const SCAN: &str = r"
local low, high = '-', '+'
if ARGV[2] ~= '' then
  -- No UTF-8 key contains byte 0xff, so it bounds every key that has the prefix.
  low, high = '[' .. ARGV[2], '[' .. ARGV[2] .. '\255'
end
local out = {}
for _, key in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], low, high)) do
  local row = redis.call('HMGET', ARGV[1] .. key, 'v', 'd')
  if row[1] then
    out[#out + 1] = key
    out[#out + 1] = row[1]
    out[#out + 1] = row[2]
  else
    redis.call('ZREM', KEYS[1], key)
  end
end
return out
";

/// `KEYS`: index. `ARGV`: entry key prefix of the table, key prefix to delete. Returns how
/// many live entries went.
pub(crate) const DELETE_PREFIX: &str = r"
local low, high = '-', '+'
if ARGV[2] ~= '' then
  low, high = '[' .. ARGV[2], '[' .. ARGV[2] .. '\255'
end
local removed = 0
for _, key in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], low, high)) do
  removed = removed + redis.call('DEL', ARGV[1] .. key)
  redis.call('ZREM', KEYS[1], key)
end
return removed
";

/// `KEYS`: index. `ARGV`: entry key prefix of the table, key prefix, the key to start after
/// (empty: from the first), how many keys to pass over, how many to return. Returns a flat
/// array: the key the next page starts after (empty when none can follow), then
/// `key, version, bytes, ...` of the live entries in key order. Index members whose entry has
/// expired are removed as they are met.
pub(crate) const SCAN_PAGE: &str = r"
local low, high = '-', '+'
if ARGV[2] ~= '' then
  low, high = '[' .. ARGV[2], '[' .. ARGV[2] .. '\255'
end
if ARGV[3] ~= '' then
  low = '(' .. ARGV[3]
end
local limit = tonumber(ARGV[5])
local keys = redis.call('ZRANGEBYLEX', KEYS[1], low, high, 'LIMIT', tonumber(ARGV[4]), limit + 1)
local out = {''}
local last = ''
for i = 1, math.min(#keys, limit) do
  local key = keys[i]
  local row = redis.call('HMGET', ARGV[1] .. key, 'v', 'd')
  if row[1] then
    out[#out + 1] = key
    out[#out + 1] = row[1]
    out[#out + 1] = row[2]
  else
    redis.call('ZREM', KEYS[1], key)
  end
  last = key
end
if #keys > limit then out[1] = last end
return out
";

/// `KEYS`: index. `ARGV`: key prefix. Returns how many index members have the prefix.
pub(crate) const COUNT_PREFIX: &str = r"
if ARGV[1] == '' then return redis.call('ZCARD', KEYS[1]) end
return redis.call('ZLEXCOUNT', KEYS[1], '[' .. ARGV[1], '[' .. ARGV[1] .. '\255')
";

/// `KEYS`: entries. Returns a flat array `version, bytes, ...` in their order, both empty for
/// an entry that is absent.
pub(crate) const GET_MANY: &str = r"
local out = {}
for _, key in ipairs(KEYS) do
  local row = redis.call('HMGET', key, 'v', 'd')
  out[#out + 1] = row[1] or ''
  out[#out + 1] = row[2] or ''
end
return out
";
