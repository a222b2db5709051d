use std::time::SystemTime;

use async_trait::async_trait;
use redis::aio::ConnectionManager;

use super::memory::unix_ms;
use super::{Freshness, ReplayStore};
use crate::store::StoreError;

/// Replay store in Redis: `SET <prefix><id> 1 NX PX <ttl>`, one round trip,
/// atomic across every instance sharing the server. Cheap to clone. See the
/// [module docs](crate::replay).
#[derive(Clone)]
pub struct RedisReplayStore {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisReplayStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisReplayStore {
    /// Uses an existing connection manager; keys are prefixed `twh:replay:`.
    #[must_use]
    pub fn new(conn: ConnectionManager) -> Self {
        Self {
            conn,
            prefix: String::from("twh:replay:"),
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

    /// Sets the key prefix (to separate several receivers on one server).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

#[async_trait]
impl ReplayStore for RedisReplayStore {
    async fn check_and_insert(
        &self,
        id: &str,
        expires_at: SystemTime,
    ) -> Result<Freshness, StoreError> {
        let ttl_ms = unix_ms(expires_at).saturating_sub(unix_ms(SystemTime::now()));
        if ttl_ms == 0 {
            return Ok(Freshness::Fresh);
        }
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(format!("{}{id}", self.prefix))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms)
            .query_async(&mut conn)
            .await
            .map_err(|e| StoreError::new("redis replay check failed", e))?;
        Ok(if set.is_some() {
            Freshness::Fresh
        } else {
            Freshness::Seen
        })
    }

    async fn release(&self, id: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("DEL")
            .arg(format!("{}{id}", self.prefix))
            .query_async(&mut conn)
            .await
            .map_err(|e| StoreError::new("redis replay release failed", e))?;
        Ok(())
    }
}
