#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod alert;
mod client;
mod clock;
mod dispatcher;
mod endpoint;
mod error;
mod keys;
mod outbox;
mod retry;
mod ssrf;
mod store_keys;

pub use alert::{
    Alert, AlertKind, AlertPolicy, AlertSink, LogAlertSink, MemoryAlertSink, WebhookAlertSink,
};
pub use client::{AttemptResult, DEFAULT_TIMEOUT, DeliveryClient, ErrorClass};
pub use clock::{Clock, ManualClock, SystemClock};
pub use dispatcher::{Dispatcher, DispatcherBuilder, DispatcherConfig, DispatcherHandle};
pub use endpoint::{Endpoint, MAX_ENDPOINT_ID_LEN};
pub use error::{AlertError, ConfigError, KeySourceError, OutboxError};
pub use keys::{KeySource, StaticKeys, signer_from_texts};
pub use outbox::{
    AttemptLog, AttemptOutcome, Durability, MAX_LOGGED_BODY, MessageInfo, MessageState, NewMessage,
    Outbox, OutboxOptions, OutboxStats,
};
pub use retry::{
    DEFAULT_SCHEDULE, JitterRng, MAX_ATTEMPTS, REPLAYED_PROBLEM_TYPE, RetryPolicy, Verdict,
    classify_response, classify_status, jitter, parse_retry_after,
};
pub use ssrf::{AddressClass, IpCidr, SsrfPolicy, SsrfViolation, forbidden_class};
pub use store_keys::SecretStoreKeys;

pub use bytes;
pub use twh_secrets;
pub use url;
