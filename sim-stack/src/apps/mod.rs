//! Applications: what runs on the hosts. Each app is a small state machine driven by its own
//! timer events and by the packets the stack hands it.
//!
//! Implemented here: `ping` (ICMP echo over a raw socket, like iputils ping). DNS, HTTP, bulk
//! TCP and UDP constant-bit-rate apps come with the socket layer.

pub mod ping;

use serde::Serialize;
use sim_core::Scheduler;

use crate::world::{Event, World};

/// An application instance on a node.
#[derive(Debug)]
pub struct App {
    /// The node it runs on.
    pub node: usize,
    /// What it is, with its state.
    pub kind: AppKind,
}

/// The kinds of app.
#[derive(Debug)]
pub enum AppKind {
    /// ICMP echo.
    Ping(ping::Ping),
}

/// The results of an app, for the summary and `stats.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "app", rename_all = "snake_case")]
pub enum AppReport {
    /// `ping`'s closing statistics.
    Ping(ping::PingReport),
}

impl World {
    /// An app's timer fired.
    pub(crate) fn app_timer(&mut self, s: &mut Scheduler<Event>, app: usize) {
        match self.apps[app].kind {
            AppKind::Ping(_) => self.ping_tick(s, app),
        }
    }

    /// The report of every app, in scenario order, with the name of its node.
    pub fn app_reports(&self) -> Vec<(String, AppReport)> {
        self.apps
            .iter()
            .map(|a| (self.nodes[a.node].name.clone(), self.app_report(a)))
            .collect()
    }

    /// One app's report.
    pub fn app_report(&self, app: &App) -> AppReport {
        match &app.kind {
            AppKind::Ping(p) => AppReport::Ping(p.report()),
        }
    }
}
