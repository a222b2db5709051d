//! Docs-only guide: how to deploy twh safely. Nothing here is code.
//!
//! - [`threat_model`] — what twh defends against and what it leaves to the deployment.
//! - [`replay_window`] — why a timestamp window *and* a replay store, and why five minutes.
//! - [`key_rotation`] — planned rotation, rollback and the emergency revocation procedure.

#[doc = include_str!("../docs/guide/threat_model.md")]
pub mod threat_model {}

#[doc = include_str!("../docs/guide/replay_window.md")]
pub mod replay_window {}

#[doc = include_str!("../docs/guide/key_rotation.md")]
pub mod key_rotation {}
