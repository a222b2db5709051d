//! The durable outbox: endpoints, messages and attempts in embedded SQLite.
//!
//! One dedicated writer thread owns the connection. Every operation is a job
//! sent to it; the thread drains whatever jobs are queued, runs them in ONE
//! transaction (each in its own savepoint) and commits once — group commit —
//! before answering any of them. So `send` returns only after its message is
//! committed, and many concurrent sends or attempt records share one fsync.

mod schema;

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{Notify, mpsc, oneshot};
use url::Url;

use crate::clock::{Clock, SystemClock};
use crate::endpoint::{Endpoint, MAX_ENDPOINT_ID_LEN, validate_id, validate_url};
use crate::error::{ConfigError, OutboxError};
use crate::keys::KeySource;

/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 4096;
/// Longest response-body prefix kept in the delivery log.
pub const MAX_LOGGED_BODY: usize = 1024;

/// How hard a commit is pushed to disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous=FULL`: every commit is fsynced (survives power loss).
    #[default]
    Full,
    /// `synchronous=NORMAL` (WAL): survives a killed process, not power loss.
    Normal,
}

/// Options for [`Outbox::open_with`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OutboxOptions {
    /// Commit durability (default [`Durability::Full`]).
    pub durability: Durability,
    /// Time source for created/due times (default [`SystemClock`]).
    pub clock: Arc<dyn Clock>,
}

impl Default for OutboxOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            clock: Arc::new(SystemClock::new()),
        }
    }
}

impl OutboxOptions {
    /// Sets the durability.
    #[must_use]
    pub const fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets the clock.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

/// Delivery state of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageState {
    /// Waiting for (another) attempt.
    Pending,
    /// Acknowledged with a 2xx.
    Delivered,
    /// Gave up (attempts exhausted or endpoint gone); see
    /// [`Outbox::requeue_failed`].
    Failed,
}

impl MessageState {
    const fn code(self) -> i64 {
        match self {
            Self::Pending => 0,
            Self::Delivered => 1,
            Self::Failed => 2,
        }
    }

    fn from_code(code: i64) -> Result<Self, OutboxError> {
        match code {
            0 => Ok(Self::Pending),
            1 => Ok(Self::Delivered),
            2 => Ok(Self::Failed),
            other => Err(OutboxError::Corrupt {
                reason: format!("message state {other}"),
            }),
        }
    }

    /// Lower-case name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// What became of one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// 2xx, and this attempt acknowledged the message.
    Delivered,
    /// 2xx, but the message had already been acknowledged (a dispatcher whose
    /// lease had expired); the receiver deduplicates by `webhook-id`.
    Duplicate,
    /// A twh guard answered `409 replayed`: the receiver already holds this
    /// `webhook-id` (an earlier attempt got through and only its answer was
    /// lost). Acknowledges the message; kept apart in the log so it can be
    /// audited.
    AlreadyReceived,
    /// Failed; another attempt is scheduled.
    Retry,
    /// Failed and no attempt is left: the message is failed.
    Exhausted,
    /// 410 Gone: the endpoint was disabled and the message failed.
    Gone,
    /// The SSRF policy refused the endpoint's URL or address (not transient):
    /// the endpoint was disabled and the message failed, as on 410 Gone.
    Blocked,
}

impl AttemptOutcome {
    /// Lower-case name (as stored).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Duplicate => "duplicate",
            Self::AlreadyReceived => "already_received",
            Self::Retry => "retry",
            Self::Exhausted => "exhausted",
            Self::Gone => "gone",
            Self::Blocked => "blocked",
        }
    }

    fn parse(s: &str) -> Result<Self, OutboxError> {
        Ok(match s {
            "delivered" => Self::Delivered,
            "duplicate" => Self::Duplicate,
            "already_received" => Self::AlreadyReceived,
            "retry" => Self::Retry,
            "exhausted" => Self::Exhausted,
            "gone" => Self::Gone,
            "blocked" => Self::Blocked,
            other => {
                return Err(OutboxError::Corrupt {
                    reason: format!("attempt outcome {other:?}"),
                });
            }
        })
    }
}

/// One row of the delivery log. Holds no secret and no signature.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptLog {
    /// The message (`webhook-id`).
    pub message_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// 1-based attempt number of this message.
    pub attempt: u32,
    /// When the attempt started (Unix ms).
    pub at_ms: u64,
    /// HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// Error class if no usable response (`timeout`, `connect`, …); a policy
    /// refusal carries its cause (`blocked: 127.0.0.1 is a loopback address
    /// (allow it with SsrfPolicy::allow_net)`). See [`crate::AttemptResult::error_text`].
    pub error: Option<String>,
    /// Time from sending to the end of reading the response.
    pub latency: Duration,
    /// The response body's first 1 KiB.
    pub response_body: Vec<u8>,
    /// What the attempt did to the message.
    pub outcome: AttemptOutcome,
}

/// A message's current state.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageInfo {
    /// The message id (`webhook-id`).
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event type given to `send`.
    pub event_type: String,
    /// Delivery state.
    pub state: MessageState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was sent (Unix ms).
    pub created_at_ms: u64,
    /// When it was acknowledged (Unix ms).
    pub delivered_at_ms: Option<u64>,
    /// When the next attempt is due (Unix ms), while pending.
    pub next_attempt_at_ms: u64,
}

/// Counters over the whole outbox.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct OutboxStats {
    /// Messages waiting.
    pub pending: u64,
    /// Messages acknowledged.
    pub delivered: u64,
    /// Messages given up.
    pub failed: u64,
    /// Attempts recorded.
    pub attempts: u64,
    /// Messages that needed more than one attempt.
    pub retried: u64,
    /// Median send→acknowledge latency of delivered messages.
    pub latency_p50: Option<Duration>,
    /// 99th percentile of the same.
    pub latency_p99: Option<Duration>,
}

/// A new message for [`Outbox::send_batch`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NewMessage {
    /// Target endpoint.
    pub endpoint_id: String,
    /// Event type (e.g. `order.created`), for logs.
    pub event_type: String,
    /// The exact bytes to deliver (signed as-is).
    pub payload: Bytes,
}

impl NewMessage {
    /// A message for `endpoint_id`.
    #[must_use]
    pub fn new(endpoint_id: &str, event_type: &str, payload: impl Into<Bytes>) -> Self {
        Self {
            endpoint_id: endpoint_id.to_owned(),
            event_type: event_type.to_owned(),
            payload: payload.into(),
        }
    }
}

/// A claimed message, leased to one dispatcher.
#[derive(Clone, Debug)]
pub(crate) struct Claimed {
    pub(crate) seq: i64,
    pub(crate) id: String,
    pub(crate) event_type: String,
    pub(crate) payload: Bytes,
    pub(crate) attempts: u32,
    pub(crate) schedule_base: u32,
}

/// What to do with a message after an attempt.
#[derive(Clone, Debug)]
pub(crate) enum Next {
    Delivered,
    AlreadyReceived,
    RetryAt(u64),
    Exhausted,
    /// 410 Gone: fail the message, disable the endpoint.
    Gone,
    /// The SSRF policy refused the endpoint: fail the message, disable the
    /// endpoint with this reason.
    Blocked(String),
}

/// The result of one attempt, to be committed.
#[derive(Clone, Debug)]
pub(crate) struct AttemptRecord {
    pub(crate) seq: i64,
    pub(crate) message_id: String,
    pub(crate) endpoint_id: String,
    pub(crate) owner: String,
    pub(crate) attempt: u32,
    pub(crate) at_ms: u64,
    pub(crate) status: Option<u16>,
    pub(crate) error: Option<String>,
    pub(crate) latency: Duration,
    pub(crate) body: Vec<u8>,
    pub(crate) next: Next,
}

type Reply = Box<dyn FnOnce(Option<&OutboxError>) + Send>;

trait Job: Send {
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Reply);
    fn fail(self: Box<Self>, err: OutboxError);
}

struct CallJob<F, T> {
    f: F,
    tx: oneshot::Sender<Result<T, OutboxError>>,
}

impl<F, T> Job for CallJob<F, T>
where
    F: FnOnce(&Connection) -> Result<T, OutboxError> + Send + 'static,
    T: Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Reply) {
        let Self { f, tx } = *self;
        let result = f(conn);
        let ok = result.is_ok();
        let reply: Reply = Box::new(move |commit_err| {
            let result = match commit_err {
                Some(e) => Err(e.clone()),
                None => result,
            };
            // The caller may have gone away; nothing to do then.
            let _ = tx.send(result);
        });
        (ok, reply)
    }

    fn fail(self: Box<Self>, err: OutboxError) {
        let _ = self.tx.send(Err(err));
    }
}

struct Inner {
    tx: mpsc::Sender<Box<dyn Job>>,
    clock: Arc<dyn Clock>,
    path: PathBuf,
    wake: Notify,
}

/// The durable outbox (SQLite in WAL mode). Cheap to clone.
///
/// See the [crate docs](crate) for an example.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// Opens (or creates) the outbox at `path` with default options.
    ///
    /// # Errors
    /// [`OutboxError::Database`] if the file cannot be opened or migrated.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, OutboxError> {
        Self::open_with(path, OutboxOptions::default()).await
    }

    /// Opens (or creates) the outbox at `path`.
    ///
    /// # Errors
    /// [`OutboxError::Database`] if the file cannot be opened or migrated.
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: OutboxOptions,
    ) -> Result<Self, OutboxError> {
        let path = path.as_ref().to_path_buf();
        let open_path = path.clone();
        let durability = options.durability;
        let conn = tokio::task::spawn_blocking(move || schema::open(&open_path, durability))
            .await
            .map_err(|_| OutboxError::Closed)??;
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>(MAX_BATCH * 2);
        std::thread::Builder::new()
            .name("twh-outbox-writer".to_owned())
            .spawn(move || writer_loop(&conn, rx))
            .map_err(|e| OutboxError::Database {
                context: "spawning the writer thread",
                source: Arc::new(e),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                tx,
                clock: options.clock,
                path,
                wake: Notify::new(),
            }),
        })
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    pub(crate) fn wake_handle(&self) -> &Notify {
        &self.inner.wake
    }

    fn now(&self) -> u64 {
        self.inner.clock.now_ms()
    }

    /// Runs `f` on the writer thread inside the current group transaction and
    /// returns after the commit.
    async fn call<T, F>(&self, f: F) -> Result<T, OutboxError>
    where
        F: FnOnce(&Connection) -> Result<T, OutboxError> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.inner
            .tx
            .send(Box::new(CallJob { f, tx }))
            .await
            .map_err(|_| OutboxError::Closed)?;
        rx.await.map_err(|_| OutboxError::Closed)?
    }

    /// Stores `endpoint` after creating its secret in `keys` (if absent).
    /// Registering an existing id updates it.
    ///
    /// # Errors
    /// [`OutboxError::InvalidEndpoint`] if its id or URL is invalid (checked
    /// as by [`Endpoint::new`]), [`OutboxError::Secret`] if the secret could
    /// not be created, else a database error.
    pub async fn register_endpoint<K: KeySource + ?Sized>(
        &self,
        endpoint: &Endpoint,
        keys: &K,
    ) -> Result<(), OutboxError> {
        check_endpoint(endpoint)?;
        keys.create_secret(&endpoint.secret_name)
            .await
            .map_err(|source| OutboxError::Secret {
                id: endpoint.id.clone(),
                source,
            })?;
        self.upsert_endpoint(endpoint).await
    }

    /// Stores or updates `endpoint` without touching the secret store.
    ///
    /// # Errors
    /// [`OutboxError::InvalidEndpoint`] if its id or URL is invalid, else a
    /// database error.
    pub async fn upsert_endpoint(&self, endpoint: &Endpoint) -> Result<(), OutboxError> {
        check_endpoint(endpoint)?;
        let e = endpoint.clone();
        let now = self.now();
        self.call(move |c| {
            c.prepare_cached(
                "INSERT INTO endpoints(id, url, secret_name, enabled, rate_limit, timeout_ms, \
                 created_at_ms, updated_at_ms) VALUES (?1,?2,?3,?4,?5,?6,?7,?7) \
                 ON CONFLICT(id) DO UPDATE SET url=excluded.url, secret_name=excluded.secret_name, \
                 enabled=excluded.enabled, rate_limit=excluded.rate_limit, \
                 timeout_ms=excluded.timeout_ms, updated_at_ms=excluded.updated_at_ms, \
                 disabled_reason=NULL",
            )
            .and_then(|mut s| {
                s.execute(params![
                    e.id,
                    e.url.as_str(),
                    e.secret_name,
                    e.enabled,
                    e.rate_limit.map(NonZeroU32::get),
                    e.timeout.map(|t| i64_of(crate::clock::duration_ms(t))),
                    i64_of(now),
                ])
            })
            .map_err(OutboxError::db("storing an endpoint"))?;
            Ok(())
        })
        .await?;
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Enables or disables an endpoint; returns `false` if it does not exist.
    ///
    /// # Errors
    /// A database error.
    pub async fn set_endpoint_enabled(
        &self,
        id: &str,
        enabled: bool,
        reason: Option<&str>,
    ) -> Result<bool, OutboxError> {
        let id = id.to_owned();
        let reason = reason.map(str::to_owned);
        let now = self.now();
        let changed = self
            .call(move |c| {
                c.prepare_cached(
                    "UPDATE endpoints SET enabled=?2, disabled_reason=?3, updated_at_ms=?4 WHERE id=?1",
                )
                .and_then(|mut s| s.execute(params![id, enabled, reason, i64_of(now)]))
                .map_err(OutboxError::db("updating an endpoint"))
            })
            .await?;
        self.inner.wake.notify_one();
        Ok(changed == 1)
    }

    /// The endpoint `id`, if registered.
    ///
    /// # Errors
    /// A database error or a corrupt row.
    pub async fn endpoint(&self, id: &str) -> Result<Option<Endpoint>, OutboxError> {
        let id = id.to_owned();
        self.call(move |c| {
            let row = c
                .prepare_cached(&format!("{} WHERE id=?1", schema::SELECT_ENDPOINT))
                .and_then(|mut s| s.query_row([id], schema::EndpointRow::from_row).optional())
                .map_err(OutboxError::db("reading an endpoint"))?;
            row.map(schema::EndpointRow::into_endpoint).transpose()
        })
        .await
    }

    /// Every registered endpoint, by id.
    ///
    /// # Errors
    /// A database error or a corrupt row.
    pub async fn endpoints(&self) -> Result<Vec<Endpoint>, OutboxError> {
        self.call(|c| schema::endpoints(c, false)).await
    }

    /// Why an endpoint was disabled (e.g. `410 Gone`), if it is.
    ///
    /// # Errors
    /// A database error.
    pub async fn disabled_reason(&self, id: &str) -> Result<Option<String>, OutboxError> {
        let id = id.to_owned();
        self.call(move |c| {
            c.prepare_cached("SELECT disabled_reason FROM endpoints WHERE id=?1")
                .and_then(|mut s| {
                    s.query_row([id], |r| r.get::<_, Option<String>>(0))
                        .optional()
                })
                .map(Option::flatten)
                .map_err(OutboxError::db("reading an endpoint"))
        })
        .await
    }

    /// Durably stores one message for `endpoint_id` and returns its id (the
    /// `webhook-id` used on every attempt). Returns after the commit.
    ///
    /// # Errors
    /// [`OutboxError::UnknownEndpoint`] or a database error.
    pub async fn send(
        &self,
        endpoint_id: &str,
        event_type: &str,
        payload: impl Into<Bytes>,
    ) -> Result<String, OutboxError> {
        let mut ids = self
            .send_batch(vec![NewMessage::new(endpoint_id, event_type, payload)])
            .await?;
        ids.pop().ok_or(OutboxError::Closed)
    }

    /// Durably stores several messages in one transaction (all or none) and
    /// returns their ids in order.
    ///
    /// # Errors
    /// [`OutboxError::UnknownEndpoint`] or a database error.
    pub async fn send_batch(&self, messages: Vec<NewMessage>) -> Result<Vec<String>, OutboxError> {
        let now = self.now();
        let ids: Vec<String> = messages.iter().map(|_| twh_sig::new_message_id()).collect();
        let ids2 = ids.clone();
        self.call(move |c| {
            let mut known = c
                .prepare_cached("SELECT 1 FROM endpoints WHERE id=?1")
                .map_err(OutboxError::db("checking an endpoint"))?;
            let mut insert = c
                .prepare_cached(
                    "INSERT INTO messages(id, endpoint_id, event_type, payload, created_at_ms, \
                     state, attempts, schedule_base, next_attempt_at_ms) \
                     VALUES (?1,?2,?3,?4,?5,0,0,0,?5)",
                )
                .map_err(OutboxError::db("storing a message"))?;
            let mut checked: Option<String> = None;
            for (m, id) in messages.iter().zip(&ids2) {
                if checked.as_deref() != Some(m.endpoint_id.as_str()) {
                    if !known
                        .exists([&m.endpoint_id])
                        .map_err(OutboxError::db("checking an endpoint"))?
                    {
                        return Err(OutboxError::UnknownEndpoint {
                            id: m.endpoint_id.chars().take(80).collect(),
                        });
                    }
                    checked = Some(m.endpoint_id.clone());
                }
                insert
                    .execute(params![
                        id,
                        m.endpoint_id,
                        m.event_type,
                        &m.payload[..],
                        i64_of(now)
                    ])
                    .map_err(OutboxError::db("storing a message"))?;
            }
            Ok(())
        })
        .await?;
        self.inner.wake.notify_one();
        Ok(ids)
    }

    /// Re-queues every failed message of `endpoint_id` for immediate delivery
    /// with a fresh retry schedule; returns how many.
    ///
    /// # Errors
    /// A database error.
    pub async fn requeue_failed(&self, endpoint_id: &str) -> Result<u64, OutboxError> {
        let id = endpoint_id.to_owned();
        let now = self.now();
        let n = self
            .call(move |c| {
                c.prepare_cached(
                    "UPDATE messages SET state=0, schedule_base=attempts, next_attempt_at_ms=?2, \
                     lease_owner=NULL, lease_until_ms=NULL WHERE endpoint_id=?1 AND state=2",
                )
                .and_then(|mut s| s.execute(params![id, i64_of(now)]))
                .map_err(OutboxError::db("re-queueing failed messages"))
            })
            .await?;
        self.inner.wake.notify_one();
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Deletes delivered messages acknowledged more than `older_than` ago,
    /// with their attempts; returns how many messages went. Pending and
    /// failed messages are never pruned.
    ///
    /// # Errors
    /// A database error.
    pub async fn prune_delivered(&self, older_than: Duration) -> Result<u64, OutboxError> {
        let cutoff = self
            .now()
            .saturating_sub(crate::clock::duration_ms(older_than));
        self.call(move |c| {
            let db = || OutboxError::db("pruning delivered messages");
            c.prepare_cached(
                "DELETE FROM attempts WHERE message_id IN (SELECT id FROM messages \
                 WHERE state=1 AND delivered_at_ms < ?1)",
            )
            .and_then(|mut s| s.execute([i64_of(cutoff)]))
            .map_err(db())?;
            let n = c
                .prepare_cached("DELETE FROM messages WHERE state=1 AND delivered_at_ms < ?1")
                .and_then(|mut s| s.execute([i64_of(cutoff)]))
                .map_err(db())?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    /// The latest `limit` attempts to `endpoint_id`, newest first.
    ///
    /// # Errors
    /// A database error or a corrupt row.
    pub async fn attempts_by_endpoint(
        &self,
        endpoint_id: &str,
        limit: u32,
    ) -> Result<Vec<AttemptLog>, OutboxError> {
        let id = endpoint_id.to_owned();
        self.call(move |c| {
            schema::attempts(
                c,
                &format!(
                    "{} WHERE endpoint_id=?1 ORDER BY rowid DESC LIMIT ?2",
                    schema::SELECT_ATTEMPT
                ),
                params![id, limit],
            )
        })
        .await
    }

    /// Every attempt of message `message_id`, oldest first.
    ///
    /// # Errors
    /// A database error or a corrupt row.
    pub async fn attempts_by_message(
        &self,
        message_id: &str,
    ) -> Result<Vec<AttemptLog>, OutboxError> {
        let id = message_id.to_owned();
        self.call(move |c| {
            schema::attempts(
                c,
                &format!(
                    "{} WHERE message_id=?1 ORDER BY rowid",
                    schema::SELECT_ATTEMPT
                ),
                params![id],
            )
        })
        .await
    }

    /// The message `id`, if stored.
    ///
    /// # Errors
    /// A database error or a corrupt row.
    pub async fn message(&self, id: &str) -> Result<Option<MessageInfo>, OutboxError> {
        let id = id.to_owned();
        self.call(move |c| schema::message(c, &id)).await
    }

    /// Ids of messages in `state` (optionally of one endpoint), oldest first.
    ///
    /// # Errors
    /// A database error.
    pub async fn message_ids(
        &self,
        endpoint_id: Option<&str>,
        state: MessageState,
        limit: u32,
    ) -> Result<Vec<String>, OutboxError> {
        let ep = endpoint_id.map(str::to_owned);
        self.call(move |c| {
            let mut s = c
                .prepare_cached(
                    "SELECT id FROM messages WHERE state=?1 AND (?2 IS NULL OR endpoint_id=?2) \
                     ORDER BY seq LIMIT ?3",
                )
                .map_err(OutboxError::db("listing messages"))?;
            let rows = s
                .query_map(params![state.code(), ep, limit], |r| r.get::<_, String>(0))
                .map_err(OutboxError::db("listing messages"))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(OutboxError::db("listing messages"))
        })
        .await
    }

    /// How many messages are in `state` (cheap; uses an index).
    ///
    /// # Errors
    /// A database error.
    pub async fn count(&self, state: MessageState) -> Result<u64, OutboxError> {
        self.call(move |c| {
            c.prepare_cached("SELECT COUNT(*) FROM messages WHERE state=?1")
                .and_then(|mut s| s.query_row([state.code()], |r| r.get::<_, i64>(0)))
                .map(u64_of)
                .map_err(OutboxError::db("counting messages"))
        })
        .await
    }

    /// Counters and latency percentiles over the whole outbox.
    ///
    /// # Errors
    /// A database error.
    pub async fn stats(&self) -> Result<OutboxStats, OutboxError> {
        self.call(schema::stats).await
    }

    /// Claims due messages for `owner`: for each enabled endpoint, up to
    /// `capacity(endpoint)` messages whose due time has come and whose lease
    /// (if any) has expired; each gets a lease until `now + lease`.
    pub(crate) async fn claim(
        &self,
        owner: String,
        lease: Duration,
        capacity: HashMap<String, u32>,
        default_capacity: u32,
    ) -> Result<Vec<(Endpoint, Vec<Claimed>)>, OutboxError> {
        let now = self.now();
        let until = now.saturating_add(crate::clock::duration_ms(lease));
        self.call(move |c| {
            let endpoints = schema::endpoints(c, true)?;
            let mut stmt = c
                .prepare_cached(
                    "UPDATE messages SET lease_owner=?1, lease_until_ms=?2 WHERE seq IN (\
                     SELECT seq FROM messages WHERE endpoint_id=?3 AND state=0 \
                     AND next_attempt_at_ms<=?4 AND (lease_until_ms IS NULL OR lease_until_ms<?4) \
                     ORDER BY next_attempt_at_ms, seq LIMIT ?5) \
                     RETURNING seq, id, event_type, payload, attempts, schedule_base",
                )
                .map_err(OutboxError::db("claiming messages"))?;
            let mut out = Vec::new();
            for ep in endpoints {
                let cap = capacity.get(&ep.id).copied().unwrap_or(default_capacity);
                if cap == 0 {
                    continue;
                }
                let rows = stmt
                    .query_map(
                        params![owner, i64_of(until), ep.id, i64_of(now), cap],
                        |r| {
                            Ok(Claimed {
                                seq: r.get(0)?,
                                id: r.get(1)?,
                                event_type: r.get(2)?,
                                payload: Bytes::from(r.get::<_, Vec<u8>>(3)?),
                                attempts: u32_of(r.get(4)?),
                                schedule_base: u32_of(r.get(5)?),
                            })
                        },
                    )
                    .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                    .map_err(OutboxError::db("claiming messages"))?;
                if !rows.is_empty() {
                    out.push((ep, rows));
                }
            }
            Ok(out)
        })
        .await
    }

    /// Commits the result of one attempt; returns what it did.
    pub(crate) async fn record(&self, rec: AttemptRecord) -> Result<AttemptOutcome, OutboxError> {
        let now = self.now();
        let out = self.call(move |c| schema::record(c, &rec, now)).await?;
        if matches!(out, AttemptOutcome::Retry) {
            // A short retry may be due before the next poll.
            self.inner.wake.notify_one();
        }
        Ok(out)
    }
}

fn writer_loop(conn: &Connection, mut rx: mpsc::Receiver<Box<dyn Job>>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(256);
    while let Some(job) = rx.blocking_recv() {
        batch.push(job);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(conn, &mut batch);
    }
}

fn run_batch(conn: &Connection, batch: &mut Vec<Box<dyn Job>>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let err = OutboxError::db("starting a transaction")(e);
        for job in batch.drain(..) {
            job.fail(err.clone());
        }
        return;
    }
    let mut replies = Vec::with_capacity(batch.len());
    for job in batch.drain(..) {
        let sp = conn
            .prepare_cached("SAVEPOINT job")
            .and_then(|mut s| s.execute([]));
        if let Err(e) = sp {
            job.fail(OutboxError::db("opening a savepoint")(e));
            continue;
        }
        let (ok, reply) = job.run(conn);
        let end = if ok {
            conn.prepare_cached("RELEASE job")
                .and_then(|mut s| s.execute([]))
        } else {
            conn.prepare_cached("ROLLBACK TO job")
                .and_then(|mut s| s.execute([]))
                .and_then(|_| {
                    conn.prepare_cached("RELEASE job")
                        .and_then(|mut s| s.execute([]))
                })
        };
        if let Err(e) = end {
            tracing::error!(error = %e, "outbox savepoint could not be closed");
        }
        replies.push(reply);
    }
    let commit_err = conn.execute_batch("COMMIT").err().map(|e| {
        // Best effort: a failed COMMIT leaves the transaction open.
        let _ = conn.execute_batch("ROLLBACK");
        OutboxError::db("committing")(e)
    });
    for reply in replies {
        reply(commit_err.as_ref());
    }
}

pub(crate) fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn u32_of(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

pub(crate) fn parse_url(s: &str) -> Result<Url, OutboxError> {
    Url::parse(s).map_err(|_| OutboxError::Corrupt {
        reason: "endpoint URL".to_owned(),
    })
}

/// The checks of [`Endpoint::new`], for an endpoint whose public fields may
/// have been changed since.
fn check_endpoint(endpoint: &Endpoint) -> Result<(), OutboxError> {
    validate_id(&endpoint.id)
        .and_then(|()| validate_url(&endpoint.url))
        .map_err(|source| OutboxError::InvalidEndpoint {
            id: endpoint.id.chars().take(MAX_ENDPOINT_ID_LEN + 8).collect(),
            source,
        })
}

pub(crate) fn check_id(id: &str) -> Result<(), OutboxError> {
    validate_id(id).map_err(|e: ConfigError| OutboxError::Corrupt {
        reason: e.to_string(),
    })
}
