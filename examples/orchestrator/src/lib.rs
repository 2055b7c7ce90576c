//! An orchestrator for the end-to-end tests and the examples: it drives a runner over TCP the
//! way the RRQ orchestrator (0.9.x) does, on `rrq-protocol` alone.
//!
//! - [`process`] starts a runner command with `RRQ_RUNNER_TCP_SOCKET` and waits until it listens;
//! - [`wire`] sends requests and cancels and reads responses, with a timeout on every operation;
//! - [`scenarios`] is the list of scenarios the end-to-end test runs against every runner;
//! - [`hostile`] is the list of hostile-client scenarios (bad frames, slow and flooding clients);
//! - [`report`] prints their outcomes as deterministic JSON lines.

pub mod hostile;
pub mod process;
pub mod report;
pub mod scenarios;
pub mod wire;
