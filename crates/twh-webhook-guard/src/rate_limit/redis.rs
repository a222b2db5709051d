use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use redis::aio::ConnectionManager;

use super::gcra::Outcome;
use super::memory::decision;
use super::{Quota, RateLimitDecision, RateLimitStore};
use crate::store::StoreError;

/// GCRA in one atomic script, line for line the arithmetic of the in-memory
/// store, in microseconds. The clock is Redis' own `TIME`, so every instance
/// sharing the server agrees on "now". `ARGV[4]` may pin "now" (tests).
const GCRA_LUA: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local n = cost
if n < 1 then n = 1 end
local limit = burst * interval
local new_tat = tat + n * interval
local ahead = new_tat - now
if ahead > limit then
  return {0, 0, ahead - limit, tat - now}
end
if cost > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.floor(ahead / 1000) + 1)
end
return {1, math.floor((limit - ahead) / interval), 0, ahead}
";

/// Rate-limit state in Redis, shared by every instance using the same server
/// and prefix. One `EVALSHA` round trip per check; keys expire as soon as
/// their bucket is full again. Cheap to clone. See the
/// [module docs](crate::rate_limit).
#[derive(Clone)]
pub struct RedisRateLimitStore {
    conn: ConnectionManager,
    prefix: String,
    script: Script,
}

impl std::fmt::Debug for RedisRateLimitStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimitStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimitStore {
    /// Uses an existing connection manager; keys are prefixed `twh:rl:`.
    #[must_use]
    pub fn new(conn: ConnectionManager) -> Self {
        Self {
            conn,
            prefix: String::from("twh:rl:"),
            script: Script::new(GCRA_LUA),
        }
    }

    /// Connects to `url` (`redis://host:port/db`).
    ///
    /// # Errors
    ///
    /// [`StoreError`] if the URL is invalid or the server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client =
            redis::Client::open(url).map_err(|e| StoreError::new("invalid redis url", e))?;
        let conn = ConnectionManager::new(client)
            .await
            .map_err(|e| StoreError::new("cannot connect to redis", e))?;
        Ok(Self::new(conn))
    }

    /// Sets the key prefix (to separate several guards on one server).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    async fn run(
        &self,
        key: &str,
        quota: Quota,
        cost: u32,
        now_micros: Option<u64>,
    ) -> Result<RateLimitDecision, StoreError> {
        let interval = u64::try_from(quota.interval().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut conn = self.conn.clone();
        let (allowed, remaining, retry_after, reset): (u64, u64, u64, u64) = self
            .script
            .key(format!("{}{key}", self.prefix))
            .arg(interval)
            .arg(quota.burst())
            .arg(cost)
            .arg(now_micros.map(|n| n.to_string()).unwrap_or_default())
            .invoke_async(&mut conn)
            .await
            .map_err(|e| StoreError::new("redis rate-limit script failed", e))?;
        let o = Outcome {
            allowed: allowed == 1,
            remaining,
            retry_after,
            reset,
            new_tat: None,
        };
        Ok(decision(quota, o, Duration::from_micros))
    }

    /// Runs the script with a pinned clock (microseconds), for tests that
    /// compare it with the in-memory arithmetic.
    #[doc(hidden)]
    pub async fn check_at_micros(
        &self,
        key: &str,
        quota: Quota,
        cost: u32,
        now_micros: u64,
    ) -> Result<RateLimitDecision, StoreError> {
        self.run(key, quota, cost, Some(now_micros)).await
    }
}

#[async_trait]
impl RateLimitStore for RedisRateLimitStore {
    async fn check(
        &self,
        key: &str,
        quota: Quota,
        cost: u32,
    ) -> Result<RateLimitDecision, StoreError> {
        self.run(key, quota, cost, None).await
    }
}
