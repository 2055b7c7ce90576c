//! Cases, levels, suites and verdicts, and how they are printed.

use crate::report::Out;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fmt;

/// How much a case matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// What the RRQ orchestrators rely on: one answer per request, ids echoed, cancel and
    /// deadline semantics, framing limits, survival of bad input.
    Required,
    /// Stricter robustness: canonical bytes, content errors answered on a live connection,
    /// memory bounds, backpressure without loss, graceful shutdown.
    Recommended,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Required => "required",
            Level::Recommended => "recommended",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "required" => Some(Level::Required),
            "recommended" => Some(Level::Recommended),
            _ => None,
        }
    }
}

/// A group of cases that run together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Suite {
    /// The handler contract and the runtime contract, the way RRQ uses a runner.
    Behaviour,
    /// Length headers, frame limits, frames split and joined across writes.
    Framing,
    /// The golden corpus over the socket: codec agreement with `rrq-protocol`.
    Corpus,
    /// Bad content, slow and flooding clients, memory bounds.
    Hostile,
    /// Correctness under load (and the throughput, reported).
    Load,
}

impl Suite {
    pub const ALL: [Suite; 5] = [
        Suite::Behaviour,
        Suite::Framing,
        Suite::Corpus,
        Suite::Hostile,
        Suite::Load,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Suite::Behaviour => "behaviour",
            Suite::Framing => "framing",
            Suite::Corpus => "corpus",
            Suite::Hostile => "hostile",
            Suite::Load => "load",
        }
    }

    pub fn parse(text: &str) -> Option<Suite> {
        Suite::ALL.into_iter().find(|s| s.name() == text)
    }
}

/// A case as documented: its id, level, what it sends and expects, and why it has its level.
#[derive(Clone, Debug)]
pub struct CaseInfo {
    pub id: String,
    pub suite: Suite,
    pub level: Level,
    pub checks: String,
    pub why: String,
}

/// What one case found.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub id: String,
    pub suite: Suite,
    pub level: Level,
    /// The expectations it broke (empty: passed).
    pub problems: Vec<String>,
    /// Why it did not run (then `problems` is empty).
    pub skipped: Option<String>,
    /// A short observation printed on a passing line (a count, a timing).
    pub note: Option<String>,
    /// A deterministic outcome (identical for runners that behave alike), for `compare`.
    pub outcome: Option<Out>,
    /// Observations (timings, counts, memory): reported, never compared.
    pub facts: Vec<(String, Value)>,
}

impl Verdict {
    pub fn new(id: impl Into<String>, suite: Suite, level: Level) -> Verdict {
        Verdict {
            id: id.into(),
            suite,
            level,
            problems: Vec::new(),
            skipped: None,
            note: None,
            outcome: None,
            facts: Vec::new(),
        }
    }

    pub fn with_problems(mut self, problems: Vec<String>) -> Verdict {
        self.problems = problems;
        self
    }

    pub fn skip(mut self, why: impl Into<String>) -> Verdict {
        self.skipped = Some(why.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Verdict {
        self.note = Some(note.into());
        self
    }

    pub fn outcome(mut self, outcome: Out) -> Verdict {
        self.outcome = Some(outcome);
        self
    }

    pub fn facts(mut self, facts: Vec<(String, Value)>) -> Verdict {
        self.facts = facts;
        self
    }

    pub fn passed(&self) -> bool {
        self.skipped.is_none() && self.problems.is_empty()
    }
}

/// A verdict's final standing, after the expected failures are applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Pass,
    Fail,
    /// Failed, and listed as an expected failure.
    ExpectedFail,
    /// Passed, but listed as an expected failure: the list is stale (counts as a failure).
    UnexpectedPass,
    Skip,
}

impl Standing {
    pub fn of(verdict: &Verdict, expected: &ExpectedFailures) -> Standing {
        let listed = expected.contains(&verdict.id);
        match (
            verdict.skipped.is_some(),
            verdict.problems.is_empty(),
            listed,
        ) {
            (true, _, _) => Standing::Skip,
            (false, true, false) => Standing::Pass,
            (false, true, true) => Standing::UnexpectedPass,
            (false, false, false) => Standing::Fail,
            (false, false, true) => Standing::ExpectedFail,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Standing::Pass => "PASS",
            Standing::Fail => "FAIL",
            Standing::ExpectedFail => "XFAIL",
            Standing::UnexpectedPass => "XPASS",
            Standing::Skip => "SKIP",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Standing::Pass => "pass",
            Standing::Fail => "fail",
            Standing::ExpectedFail => "expected_failure",
            Standing::UnexpectedPass => "unexpected_pass",
            Standing::Skip => "skip",
        }
    }

    /// Does it make the run fail?
    pub fn fails(self) -> bool {
        matches!(self, Standing::Fail | Standing::UnexpectedPass)
    }
}

/// The cases a testee declares it fails (`--expected-failures FILE`): one case id per line;
/// `#` starts a comment; blank lines are ignored.
#[derive(Clone, Debug, Default)]
pub struct ExpectedFailures {
    ids: BTreeSet<String>,
}

impl ExpectedFailures {
    pub fn parse(text: &str) -> ExpectedFailures {
        let ids = text
            .lines()
            .map(|line| line.split('#').next().unwrap_or("").trim())
            .filter(|line| !line.is_empty())
            .map(str::to_string)
            .collect();
        ExpectedFailures { ids }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &String> {
        self.ids.iter()
    }
}

/// Counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub expected_failures: usize,
    pub unexpected_passes: usize,
    pub skipped: usize,
}

impl Tally {
    pub fn add(&mut self, standing: Standing) {
        match standing {
            Standing::Pass => self.passed += 1,
            Standing::Fail => self.failed += 1,
            Standing::ExpectedFail => self.expected_failures += 1,
            Standing::UnexpectedPass => self.unexpected_passes += 1,
            Standing::Skip => self.skipped += 1,
        }
    }

    /// The closing line: `N passed, M failed` and the rest when there is any.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} passed, {} failed",
            self.passed,
            self.failed + self.unexpected_passes
        );
        let mut extra = Vec::new();
        if self.expected_failures > 0 {
            extra.push(format!("{} expected failures", self.expected_failures));
        }
        if self.unexpected_passes > 0 {
            extra.push(format!(
                "{} of the failures passed unexpectedly",
                self.unexpected_passes
            ));
        }
        if self.skipped > 0 {
            extra.push(format!("{} skipped", self.skipped));
        }
        if !extra.is_empty() {
            line.push_str(&format!(" ({})", extra.join(", ")));
        }
        line
    }

    pub fn ok(&self) -> bool {
        self.failed == 0 && self.unexpected_passes == 0
    }
}

/// The text lines of a verdict: `STATUS  LEVEL  CASE  REASON`, then one indented line per
/// further problem.
pub fn text_lines(verdict: &Verdict, standing: Standing) -> Vec<String> {
    let reason = match standing {
        Standing::Skip => verdict.skipped.clone().unwrap_or_default(),
        Standing::Pass => verdict.note.clone().unwrap_or_default(),
        Standing::UnexpectedPass => {
            "listed as an expected failure, but passed: remove it from the list".to_string()
        }
        Standing::Fail | Standing::ExpectedFail => {
            verdict.problems.first().cloned().unwrap_or_default()
        }
    };
    let head = format!(
        "{:<5}  {:<11}  {}",
        standing.tag(),
        verdict.level.name(),
        verdict.id
    );
    let mut lines = vec![if reason.is_empty() {
        head
    } else {
        format!("{head}  {reason}")
    }];
    if matches!(standing, Standing::Fail | Standing::ExpectedFail) {
        const SHOWN: usize = 12;
        for problem in verdict.problems.iter().skip(1).take(SHOWN) {
            lines.push(format!("{:22}- {problem}", ""));
        }
        if verdict.problems.len() > SHOWN + 1 {
            lines.push(format!(
                "{:22}- ... and {} more",
                "",
                verdict.problems.len() - SHOWN - 1
            ));
        }
    }
    lines
}

/// The JSON line of a verdict (`--json`).
pub fn json_line(verdict: &Verdict, standing: Standing) -> Vec<u8> {
    let mut entries = vec![
        ("case", Out::str(verdict.id.clone())),
        ("suite", Out::str(verdict.suite.name())),
        ("level", Out::str(verdict.level.name())),
        ("result", Out::str(standing.name())),
    ];
    if let Some(why) = &verdict.skipped {
        entries.push(("skipped", Out::str(why.clone())));
    }
    if let Some(note) = &verdict.note {
        entries.push(("note", Out::str(note.clone())));
    }
    if !verdict.problems.is_empty() {
        entries.push((
            "problems",
            Out::Arr(
                verdict
                    .problems
                    .iter()
                    .map(|p| Out::str(p.clone()))
                    .collect(),
            ),
        ));
    }
    if let Some(outcome) = &verdict.outcome {
        entries.push(("outcome", outcome.clone()));
    }
    if !verdict.facts.is_empty() {
        entries.push((
            "facts",
            Out::Obj(
                verdict
                    .facts
                    .iter()
                    .map(|(k, v)| (k.clone(), Out::Json(v.clone())))
                    .collect(),
            ),
        ));
    }
    Out::obj(entries).to_bytes()
}

/// The closing JSON line (`--json`).
pub fn json_summary(tally: &Tally, protocol: &str) -> Vec<u8> {
    let summary = json!({
        "summary": {
            "protocol": protocol,
            "passed": tally.passed,
            "failed": tally.failed + tally.unexpected_passes,
            "expected_failures": tally.expected_failures,
            "unexpected_passes": tally.unexpected_passes,
            "skipped": tally.skipped,
            "ok": tally.ok(),
        }
    });
    let mut out = Vec::new();
    crate::report::write_sorted(&summary, &mut out);
    out
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
