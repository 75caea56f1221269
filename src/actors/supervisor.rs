//! Supervisor: owns every actor. actix's own supervision only restarts an actor that stopped
//! cleanly; a panic in a handler just makes the actor vanish. So this one probes each child with a
//! heartbeat, rebuilds a child that does not answer from its factory (exponential backoff), counts
//! restarts per actor, and stops the process with a non-zero exit code when one child fails too
//! often. Correctness never depends on a restart: what a dead actor held stays pending in Redis and
//! is redelivered.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tracing::{error, warn};

use super::context::Backoff;
use super::messages::Heartbeat;
use crate::config::SupervisorConfig;
use crate::metrics as m;

/// Builds (or rebuilds) one actor and wires it into its slots; returns its heartbeat address.
pub type Factory = Box<dyn Fn() -> Recipient<Heartbeat>>;

pub struct ChildSpec {
    pub name: &'static str,
    pub start: Factory,
}

struct Child {
    spec: ChildSpec,
    current: Option<Recipient<Heartbeat>>,
    failures: VecDeque<Instant>,
    backoff: Backoff,
    restarting: bool,
}

/// Sent by the supervisor when it gives up, so the daemon can exit non-zero.
pub type GiveUp = tokio::sync::mpsc::UnboundedSender<String>;

pub struct Supervisor {
    children: Vec<Child>,
    config: SupervisorConfig,
    give_up: GiveUp,
    /// Once shutdown starts, actors stop on purpose and are not rebuilt.
    shutdown: tokio::sync::watch::Receiver<bool>,
}

impl Supervisor {
    pub fn new(
        specs: Vec<ChildSpec>,
        config: SupervisorConfig,
        give_up: GiveUp,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        for spec in &specs {
            // Restarts per actor exist from start-up (at 0), not from the first restart.
            metrics::counter!(m::ACTOR_RESTARTS, "actor" => spec.name).increment(0);
        }
        let children = specs
            .into_iter()
            .map(|spec| Child {
                spec,
                current: None,
                failures: VecDeque::new(),
                backoff: Backoff::new(
                    Duration::from_millis(config.backoff_initial_ms),
                    Duration::from_secs(config.backoff_max_secs),
                ),
                restarting: false,
            })
            .collect();
        Supervisor {
            children,
            config,
            give_up,
            shutdown,
        }
    }

    fn check(&mut self, ctx: &mut Context<Self>) {
        if *self.shutdown.borrow() {
            return;
        }
        let timeout = Duration::from_secs(self.config.heartbeat_secs.max(1) * 2);
        for (i, child) in self.children.iter().enumerate() {
            if child.restarting {
                continue;
            }
            let Some(r) = child.current.clone() else {
                continue;
            };
            ctx.spawn(
                async move { r.send(Heartbeat).timeout(timeout).await.is_ok() }
                    .into_actor(self)
                    .map(move |alive, act, ctx| {
                        if !alive {
                            act.failed(i, ctx);
                        }
                    }),
            );
        }
    }

    fn failed(&mut self, i: usize, ctx: &mut Context<Self>) {
        if *self.shutdown.borrow() {
            return;
        }
        let window = Duration::from_secs(self.config.restart_window_secs);
        let max = self.config.max_restarts as usize;
        let child = &mut self.children[i];
        if child.restarting {
            return;
        }
        let now = Instant::now();
        child.failures.push_back(now);
        while child
            .failures
            .front()
            .is_some_and(|t| now.duration_since(*t) > window)
        {
            child.failures.pop_front();
        }
        if child.failures.len() > max {
            let message = format!(
                "actor {} failed {} times within {:?}; giving up",
                child.spec.name,
                child.failures.len(),
                window
            );
            error!("{message}");
            let _ = self.give_up.send(message);
            return;
        }
        child.restarting = true;
        let delay = child.backoff.next_delay();
        warn!(
            actor = child.spec.name,
            ?delay,
            "actor stopped answering; rebuilding it"
        );
        ctx.run_later(delay, move |act, _| {
            if *act.shutdown.borrow() {
                return;
            }
            let child = &mut act.children[i];
            child.current = Some((child.spec.start)());
            child.restarting = false;
            metrics::counter!(m::ACTOR_RESTARTS, "actor" => child.spec.name).increment(1);
        });
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        for child in &mut self.children {
            child.current = Some((child.spec.start)());
            metrics::counter!(m::ACTOR_RESTARTS, "actor" => child.spec.name).increment(0);
        }
        let every = Duration::from_secs(self.config.heartbeat_secs.max(1));
        ctx.run_interval(every, |act, ctx| act.check(ctx));
        // A child that stays healthy for a whole window earns its backoff back.
        let window = Duration::from_secs(self.config.restart_window_secs.max(1));
        ctx.run_interval(window, |act, _| {
            for child in &mut act.children {
                if child.failures.is_empty() {
                    child.backoff.reset();
                }
            }
        });
    }
}
