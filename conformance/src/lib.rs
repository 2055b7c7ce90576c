//! `rrq-conformance`: the RRQ runner conformance suite, for any runner in any language.
//!
//! It starts a runner command the way the RRQ orchestrator of the chosen protocol version does
//! (or connects to a runner that is already running), drives it over its TCP socket and reports
//! every case with its level (required: what the RRQ orchestrators rely on; recommended: stricter
//! robustness). See `docs/CONFORMANCE.md`.
//!
//! - [`version`]: the protocol versions behind one version-neutral request type;
//! - [`wire`], [`process`]: talking to a runner and starting it;
//! - [`case`], [`env`]: cases, levels, verdicts; what the suites run against;
//! - [`suites`]: behaviour, framing, corpus, hostile, load;
//! - [`answering`]: the reference of the answering rule for undecodable frames;
//! - [`load`]: the load generator (also `rrq-bench load`);
//! - [`driver`]: runs the selected suites and prints the report.

pub mod answering;
pub mod case;
pub mod driver;
pub mod env;
pub mod load;
pub mod process;
pub mod report;
pub mod suites;
pub mod values;
pub mod version;
pub mod wire;
