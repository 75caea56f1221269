//! The operations endpoint, on `metrics.listen` (default `127.0.0.1:9464`):
//!
//! - `GET /metrics`: the Prometheus text of everything this process recorded;
//! - `GET /healthz`: 200 while the process runs (liveness);
//! - `GET /readyz`: 200 when every readiness check passed at the last background refresh, 503
//!   otherwise; the plain-text body names each check and why it fails.
//!
//! It runs on an arbiter (thread) of its own together with the readiness refresher, so a busy
//! actor never delays a probe and a probe never touches an actor.

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context as _;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tracing::{error, info};

use crate::health::Readiness;
use crate::telemetry::Telemetry;

#[derive(Clone)]
struct Endpoints {
    telemetry: Telemetry,
    readiness: Readiness,
}

/// The routes, for [`start`] and for tests that serve them on their own listener.
pub fn router(telemetry: Telemetry, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(Endpoints {
            telemetry,
            readiness,
        })
}

/// Binds `listen` now (so a taken port fails start-up), then serves the endpoints, refreshes the
/// readiness checks and samples process metrics on a new arbiter. Returns the bound address.
pub fn start(
    listen: &str,
    telemetry: Telemetry,
    readiness: Readiness,
) -> anyhow::Result<SocketAddr> {
    let addr: SocketAddr = listen.parse().context("metrics.listen")?;
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("listening on {addr}"))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let app = router(telemetry.clone(), readiness.clone());
    let arbiter = actix::Arbiter::new();
    let served = arbiter.spawn(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                error!(error = %e, "metrics endpoint: cannot use the listener");
                return;
            }
        };
        tokio::spawn(readiness.refresh_forever());
        tokio::spawn(telemetry.sample_forever());
        info!(%bound, "serving /metrics, /healthz, /readyz");
        if let Err(e) = axum::serve(listener, app).await {
            error!(error = %e, "metrics endpoint stopped");
        }
    });
    anyhow::ensure!(served, "the metrics arbiter is not running");
    Ok(bound)
}

async fn metrics(State(s): State<Endpoints>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.telemetry.render(),
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<Endpoints>) -> impl IntoResponse {
    let now = Instant::now();
    let snapshot = s.readiness.snapshot();
    let status = if snapshot.ready(now) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        snapshot.body(now),
    )
}
