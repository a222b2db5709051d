//! SQL: schema, row decoding and the statements run on the writer thread.

use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Params, Row, params};

use super::{
    AttemptLog, AttemptOutcome, AttemptRecord, Durability, MessageInfo, MessageState, Next,
    OutboxStats, check_id, i64_of, parse_url, u32_of, u64_of,
};
use crate::endpoint::Endpoint;
use crate::error::OutboxError;

/// 1: the first layout. 2: attempts may have the outcome `blocked` (an SSRF
/// policy refusal), which a version-1 build cannot read: it now refuses the
/// file with "schema version 2 is newer than this build" instead of failing
/// on such a row. Opening a version-1 file upgrades it (no table changes).
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    secret_name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    rate_limit INTEGER,
    timeout_ms INTEGER,
    disabled_reason TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    endpoint_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL,
    state INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    schedule_base INTEGER NOT NULL,
    next_attempt_at_ms INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until_ms INTEGER,
    delivered_at_ms INTEGER
);
CREATE INDEX IF NOT EXISTS messages_due
    ON messages(endpoint_id, next_attempt_at_ms, seq) WHERE state = 0;
CREATE INDEX IF NOT EXISTS messages_state ON messages(state, endpoint_id);
CREATE TABLE IF NOT EXISTS attempts (
    message_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    status INTEGER,
    error TEXT,
    latency_us INTEGER NOT NULL,
    response_body BLOB NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_message ON attempts(message_id);
CREATE INDEX IF NOT EXISTS attempts_endpoint ON attempts(endpoint_id);
";

pub(super) fn open(path: &Path, durability: Durability) -> Result<Connection, OutboxError> {
    let conn = Connection::open(path).map_err(OutboxError::db("opening the database"))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(OutboxError::db("setting the busy timeout"))?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA temp_store=MEMORY; \
         PRAGMA cache_size=-16384;"
    ))
    .map_err(OutboxError::db("setting pragmas"))?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(OutboxError::db("reading the schema version"))?;
    if version > SCHEMA_VERSION {
        return Err(OutboxError::Corrupt {
            reason: format!("schema version {version} is newer than this build ({SCHEMA_VERSION})"),
        });
    }
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
    ))
    .map_err(OutboxError::db("creating the schema"))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

pub(super) const SELECT_ENDPOINT: &str =
    "SELECT id, url, secret_name, enabled, rate_limit, timeout_ms FROM endpoints";

pub(super) struct EndpointRow {
    id: String,
    url: String,
    secret_name: String,
    enabled: bool,
    rate_limit: Option<i64>,
    timeout_ms: Option<i64>,
}

impl EndpointRow {
    pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            url: r.get(1)?,
            secret_name: r.get(2)?,
            enabled: r.get(3)?,
            rate_limit: r.get(4)?,
            timeout_ms: r.get(5)?,
        })
    }

    pub(super) fn into_endpoint(self) -> Result<Endpoint, OutboxError> {
        check_id(&self.id)?;
        Ok(Endpoint {
            url: parse_url(&self.url)?,
            id: self.id,
            secret_name: self.secret_name,
            enabled: self.enabled,
            rate_limit: self
                .rate_limit
                .and_then(|v| u32::try_from(v).ok())
                .and_then(NonZeroU32::new),
            timeout: self.timeout_ms.map(|ms| Duration::from_millis(u64_of(ms))),
        })
    }
}

pub(super) fn endpoints(c: &Connection, enabled_only: bool) -> Result<Vec<Endpoint>, OutboxError> {
    let sql = if enabled_only {
        format!("{SELECT_ENDPOINT} WHERE enabled=1 ORDER BY id")
    } else {
        format!("{SELECT_ENDPOINT} ORDER BY id")
    };
    let rows = c
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_map([], EndpointRow::from_row)?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(OutboxError::db("listing endpoints"))?;
    rows.into_iter().map(EndpointRow::into_endpoint).collect()
}

pub(super) const SELECT_ATTEMPT: &str = "SELECT message_id, endpoint_id, attempt, at_ms, status, \
    error, latency_us, response_body, outcome FROM attempts";

pub(super) fn attempts(
    c: &Connection,
    sql: &str,
    p: impl Params,
) -> Result<Vec<AttemptLog>, OutboxError> {
    let rows = c
        .prepare_cached(sql)
        .and_then(|mut s| {
            s.query_map(p, |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, Vec<u8>>(7)?,
                    r.get::<_, String>(8)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(OutboxError::db("reading attempts"))?;
    rows.into_iter()
        .map(
            |(message_id, endpoint_id, attempt, at, status, error, lat, body, outcome)| {
                Ok(AttemptLog {
                    message_id,
                    endpoint_id,
                    attempt: u32_of(attempt),
                    at_ms: u64_of(at),
                    status: status.and_then(|s| u16::try_from(s).ok()),
                    error,
                    latency: Duration::from_micros(u64_of(lat)),
                    response_body: body,
                    outcome: AttemptOutcome::parse(&outcome)?,
                })
            },
        )
        .collect()
}

pub(super) fn message(c: &Connection, id: &str) -> Result<Option<MessageInfo>, OutboxError> {
    let row = c
        .prepare_cached(
            "SELECT id, endpoint_id, event_type, state, attempts, created_at_ms, delivered_at_ms, \
             next_attempt_at_ms FROM messages WHERE id=?1",
        )
        .and_then(|mut s| {
            s.query_row([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })
            .optional()
        })
        .map_err(OutboxError::db("reading a message"))?;
    row.map(
        |(id, endpoint_id, event_type, state, attempts, created, delivered, next)| {
            Ok(MessageInfo {
                id,
                endpoint_id,
                event_type,
                state: MessageState::from_code(state)?,
                attempts: u32_of(attempts),
                created_at_ms: u64_of(created),
                delivered_at_ms: delivered.map(u64_of),
                next_attempt_at_ms: u64_of(next),
            })
        },
    )
    .transpose()
}

pub(super) fn stats(c: &Connection) -> Result<OutboxStats, OutboxError> {
    let db = OutboxError::db("computing statistics");
    let mut st = OutboxStats::default();
    {
        let mut s = c
            .prepare_cached(
                "SELECT state, COUNT(*), SUM(attempts > 1) FROM messages GROUP BY state",
            )
            .map_err(OutboxError::db("computing statistics"))?;
        let rows = s
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            })
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(OutboxError::db("computing statistics"))?;
        for (state, n, retried) in rows {
            let n = u64_of(n);
            st.retried += u64_of(retried.unwrap_or(0));
            match MessageState::from_code(state)? {
                MessageState::Pending => st.pending = n,
                MessageState::Delivered => st.delivered = n,
                MessageState::Failed => st.failed = n,
            }
        }
    }
    st.attempts = u64_of(
        c.query_row("SELECT COUNT(*) FROM attempts", [], |r| r.get(0))
            .map_err(OutboxError::db("computing statistics"))?,
    );
    let mut lat: Vec<u64> = c
        .prepare_cached("SELECT delivered_at_ms - created_at_ms FROM messages WHERE state=1")
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, i64>(0))?
                .map(|v| v.map(u64_of))
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db)?;
    lat.sort_unstable();
    let pct = |p: usize| -> Option<Duration> {
        let last = lat.len().checked_sub(1)?;
        lat.get(last * p / 100).map(|&ms| Duration::from_millis(ms))
    };
    st.latency_p50 = pct(50);
    st.latency_p99 = pct(99);
    Ok(st)
}

pub(super) fn record(
    c: &Connection,
    rec: &AttemptRecord,
    now: u64,
) -> Result<AttemptOutcome, OutboxError> {
    let db = || OutboxError::db("recording an attempt");
    let attempt = i64::from(rec.attempt);
    let outcome = match rec.next {
        Next::Delivered | Next::AlreadyReceived => {
            let n = c
                .prepare_cached(
                    "UPDATE messages SET state=1, delivered_at_ms=?2, attempts=MAX(attempts, ?3), \
                     lease_owner=NULL, lease_until_ms=NULL WHERE seq=?1 AND state=0",
                )
                .and_then(|mut s| s.execute(params![rec.seq, i64_of(now), attempt]))
                .map_err(db())?;
            if n == 1 && matches!(rec.next, Next::AlreadyReceived) {
                AttemptOutcome::AlreadyReceived
            } else if n == 1 {
                AttemptOutcome::Delivered
            } else {
                AttemptOutcome::Duplicate
            }
        }
        Next::RetryAt(at) => {
            c.prepare_cached(
                "UPDATE messages SET attempts=MAX(attempts, ?3), next_attempt_at_ms=?2, \
                 lease_owner=NULL, lease_until_ms=NULL WHERE seq=?1 AND state=0 AND lease_owner=?4",
            )
            .and_then(|mut s| s.execute(params![rec.seq, i64_of(at), attempt, rec.owner]))
            .map_err(db())?;
            AttemptOutcome::Retry
        }
        Next::Exhausted | Next::Gone | Next::Blocked(_) => {
            c.prepare_cached(
                "UPDATE messages SET state=2, attempts=MAX(attempts, ?2), lease_owner=NULL, \
                 lease_until_ms=NULL WHERE seq=?1 AND state=0",
            )
            .and_then(|mut s| s.execute(params![rec.seq, attempt]))
            .map_err(db())?;
            let disable = match &rec.next {
                Next::Gone => Some(("410 Gone", AttemptOutcome::Gone)),
                Next::Blocked(reason) => Some((reason.as_str(), AttemptOutcome::Blocked)),
                _ => None,
            };
            match disable {
                Some((reason, outcome)) => {
                    c.prepare_cached(
                        "UPDATE endpoints SET enabled=0, disabled_reason=?3, updated_at_ms=?2 \
                         WHERE id=?1",
                    )
                    .and_then(|mut s| s.execute(params![rec.endpoint_id, i64_of(now), reason]))
                    .map_err(db())?;
                    outcome
                }
                None => AttemptOutcome::Exhausted,
            }
        }
    };
    insert_attempt(c, rec, outcome)
}

fn insert_attempt(
    c: &Connection,
    rec: &AttemptRecord,
    outcome: AttemptOutcome,
) -> Result<AttemptOutcome, OutboxError> {
    let db = || OutboxError::db("recording an attempt");
    let attempt = i64::from(rec.attempt);
    let body = &rec.body[..rec.body.len().min(super::MAX_LOGGED_BODY)];
    c.prepare_cached(
        "INSERT INTO attempts(message_id, endpoint_id, attempt, at_ms, status, error, latency_us, \
         response_body, outcome) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            rec.message_id,
            rec.endpoint_id,
            attempt,
            i64_of(rec.at_ms),
            rec.status,
            rec.error,
            i64_of(u64::try_from(rec.latency.as_micros()).unwrap_or(u64::MAX)),
            body,
            outcome.as_str(),
        ])
    })
    .map_err(db())?;
    Ok(outcome)
}
