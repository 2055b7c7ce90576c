//! The load suite: the load generator of `rrq-bench`, briefly, as a correctness check. Every
//! response is verified (exactly one per request, ids matching, the echo right); the throughput
//! is reported, never judged.

use crate::case::{CaseInfo, Level, Suite, Verdict};
use crate::env::Env;
use crate::load::{self, Mode};
use serde_json::Value;

/// Requests in flight in the pipelined mode: RRQ 0.11's largest `max_in_flight`.
pub const WINDOW: usize = 64;

fn case_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Serial => "serial",
        Mode::Conns16 => "conns16",
        Mode::Fresh => "fresh_connections",
        Mode::Pipelined => "pipelined_64",
    }
}

fn checks(mode: Mode) -> &'static str {
    match mode {
        Mode::Serial => "echo requests one at a time on one connection, for the slice: every response verified",
        Mode::Conns16 => "echo requests one at a time on each of 16 connections: every response verified",
        Mode::Fresh => "a new connection per echo request, one at a time (RRQ 0.9's pattern): every response verified",
        Mode::Pipelined => "64 echo requests in flight on one connection, each answer replaced by a new request (RRQ 0.11's pattern): every response verified",
    }
}

pub fn infos() -> Vec<CaseInfo> {
    Mode::ALL
        .iter()
        .map(|&m| CaseInfo {
            id: format!("load/{}", case_name(m)),
            suite: Suite::Load,
            level: Level::Required,
            checks: checks(m).to_string(),
            why: "one answer per request with its ids, under the load RRQ puts on a runner"
                .to_string(),
        })
        .collect()
}

pub async fn run(env: &mut Env, emit: &mut dyn FnMut(Verdict)) {
    let version = env.version();
    let expected = load::expected_result(version);
    let opts = env.settings.load;
    for mode in Mode::ALL {
        let id = format!("load/{}", case_name(mode));
        if !env.settings.wants(Level::Required, &id) {
            continue;
        }
        let v = Verdict::new(id.clone(), Suite::Load, Level::Required);
        let addr = match env.shared_addr().await {
            Ok(addr) => addr,
            Err(e) => {
                emit(v.with_problems(vec![format!("the runner is unavailable: {e}")]));
                continue;
            }
        };
        let pgid = env.shared_runner().map(|r| r.pgid());
        let tag = format!("load-{}", mode.name());
        let warm = load::run_slice(
            version,
            mode,
            addr,
            opts.warmup,
            WINDOW,
            &format!("{tag}-warm"),
            &expected,
        )
        .await;
        let result = match warm {
            Err(e) => Err(e),
            Ok(_) => {
                load::measure(
                    version, mode, addr, pgid, opts.slice, WINDOW, &tag, &expected,
                )
                .await
            }
        };
        emit(match result {
            Ok(m) => {
                let facts = load::summary(&m);
                let note = format!(
                    "{} requests, {} req/s, p99 {} us",
                    m.slice.requests,
                    facts["rps"],
                    facts["p99_us"]
                        .as_f64()
                        .map_or("?".to_string(), |x| format!("{x:.0}"))
                );
                let v = v
                    .facts(facts.into_iter().collect::<Vec<(String, Value)>>())
                    .note(note);
                if m.slice.requests == 0 {
                    v.with_problems(vec!["no request was answered within the slice".into()])
                } else {
                    v
                }
            }
            Err(e) => v.with_problems(vec![format!("{e:#}")]),
        });
    }
    env.drop_shared();
}
