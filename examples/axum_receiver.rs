//! A partner's receiver for the Hub's webhooks: signature, replay, size and
//! rate checks, secure headers — then your handler gets the exact bytes.
//!
//! `TWH_WEBHOOK_SECRET=whsec_… cargo run --example axum_receiver --features guard`
use std::net::SocketAddr;

use axum::{Extension, Router, body::Bytes, routing::post};
use twh::guard::{VerifiedWebhook, WebhookGuard};
use twh::sig::{Scheme, Verifier, VerifyKey};

async fn receive(Extension(webhook): Extension<VerifiedWebhook>, body: Bytes) -> &'static str {
    let id = webhook.message_id.as_deref().unwrap_or("-");
    println!("webhook {id}: {} bytes, key {}", body.len(), webhook.key_id);
    "ok"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("TWH_WEBHOOK_SECRET")?;
    let key = VerifyKey::parse(&secret, Scheme::Standard)?;
    let guard = WebhookGuard::builder()
        .key_resolver(Verifier::new(Scheme::Standard, [key])?)
        .build();
    let app = Router::new().route("/webhooks", post(receive)).layer(guard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    println!("listening on http://{}/webhooks", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
