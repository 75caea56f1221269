//! The supervisor rebuilds an actor that died (a panic in a handler makes an actix actor vanish)
//! and gives up — so the process can exit non-zero — when one keeps failing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use pocketwatcher::actors::messages::Heartbeat;
use pocketwatcher::actors::supervisor::{ChildSpec, Supervisor};
use pocketwatcher::config::SupervisorConfig;

/// Answers heartbeats, and panics in its handler when told to.
struct Fragile;

impl Actor for Fragile {
    type Context = Context<Self>;
}

impl Handler<Heartbeat> for Fragile {
    type Result = ();
    fn handle(&mut self, _: Heartbeat, _: &mut Self::Context) {}
}

#[derive(Message)]
#[rtype(result = "()")]
struct Boom;

impl Handler<Boom> for Fragile {
    type Result = ();
    fn handle(&mut self, _: Boom, _: &mut Self::Context) {
        panic!("injected failure");
    }
}

fn config(max_restarts: u32) -> SupervisorConfig {
    SupervisorConfig {
        heartbeat_secs: 1,
        max_restarts,
        restart_window_secs: 60,
        backoff_initial_ms: 10,
        backoff_max_secs: 1,
    }
}

/// A supervisor over one `Fragile`, and what a test observes of it.
struct Supervised {
    /// How many times the factory built the actor.
    starts: Arc<AtomicUsize>,
    /// The newest `Fragile`.
    latest: Arc<std::sync::Mutex<Option<Addr<Fragile>>>>,
    give_up: tokio::sync::mpsc::UnboundedReceiver<String>,
    _shutdown: tokio::sync::watch::Sender<bool>,
}

fn supervise(max_restarts: u32) -> Supervised {
    let starts = Arc::new(AtomicUsize::new(0));
    let latest = Arc::new(std::sync::Mutex::new(None));
    let (give_up_tx, give_up) = tokio::sync::mpsc::unbounded_channel();
    let (shutdown, stop_rx) = tokio::sync::watch::channel(false);
    let (s, l) = (starts.clone(), latest.clone());
    let arbiter = Arbiter::new().handle();
    let spec = ChildSpec {
        name: "fragile",
        start: Box::new(move || {
            s.fetch_add(1, Ordering::SeqCst);
            let addr = Fragile::start_in_arbiter(&arbiter, |_| Fragile);
            *l.lock().unwrap() = Some(addr.clone());
            addr.recipient()
        }),
    };
    Supervisor::new(vec![spec], config(max_restarts), give_up_tx, stop_rx).start();
    Supervised {
        starts,
        latest,
        give_up,
        _shutdown: shutdown,
    }
}

async fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn an_actor_that_panics_is_rebuilt() {
    actix::System::new().block_on(async {
        let Supervised { starts, latest, .. } = supervise(5);
        wait_for("first start", Duration::from_secs(5), || {
            starts.load(Ordering::SeqCst) == 1
        })
        .await;
        let first = latest.lock().unwrap().clone().unwrap();
        first.do_send(Boom);
        wait_for("a rebuilt actor", Duration::from_secs(10), || {
            starts.load(Ordering::SeqCst) == 2
        })
        .await;
        let second = latest.lock().unwrap().clone().unwrap();
        assert!(!first.connected(), "the panicked actor is gone");
        assert!(second.send(Heartbeat).await.is_ok(), "the new one answers");
    });
}

#[test]
fn an_actor_that_keeps_failing_makes_the_supervisor_give_up() {
    actix::System::new().block_on(async {
        let Supervised {
            starts,
            latest,
            mut give_up,
            ..
        } = supervise(2);
        let started = Instant::now();
        loop {
            if let Ok(reason) = give_up.try_recv() {
                assert!(reason.contains("fragile"), "{reason}");
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "supervisor never gave up"
            );
            if let Some(addr) = latest.lock().unwrap().clone() {
                if addr.connected() {
                    addr.do_send(Boom);
                }
            }
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            starts.load(Ordering::SeqCst),
            3,
            "initial start + max_restarts rebuilds"
        );
    });
}
