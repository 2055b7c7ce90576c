//! Runs the selected suites against the runner and prints every case as it is decided.

use crate::case::{
    json_line, json_summary, text_lines, CaseInfo, ExpectedFailures, Level, Standing, Suite, Tally,
    Verdict,
};
use crate::env::{Env, Settings};
use crate::suites;
use std::io::Write;

/// A run: what to check and how to report it.
pub struct Run {
    pub settings: Settings,
    pub suites: Vec<Suite>,
    /// One JSON object per line instead of text.
    pub json: bool,
    pub expected: ExpectedFailures,
}

/// The verdicts of a run and their tally.
pub struct Report {
    pub verdicts: Vec<(Verdict, Standing)>,
    pub tally: Tally,
}

fn out(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes);
    let _ = stdout.write_all(b"\n");
    let _ = stdout.flush();
}

/// Runs the suites in order (behaviour, framing, corpus, hostile, load, as selected), printing
/// each verdict on stdout as soon as it is known, then the closing line.
pub async fn run(run: Run) -> Report {
    let json = run.json;
    let expected = run.expected.clone();
    let protocol = run.settings.version.protocol_version();
    let mut env = Env::new(run.settings);
    let mut verdicts = Vec::new();
    let mut tally = Tally::default();
    let mut emit = |v: Verdict| {
        let standing = Standing::of(&v, &expected);
        tally.add(standing);
        if json {
            out(&json_line(&v, standing));
        } else {
            for line in text_lines(&v, standing) {
                out(line.as_bytes());
            }
        }
        verdicts.push((v, standing));
    };
    for suite in Suite::ALL.into_iter().filter(|s| run.suites.contains(s)) {
        eprintln!("rrq-conformance: suite {suite} (protocol {protocol})");
        match suite {
            Suite::Behaviour => suites::behaviour::run(&mut env, &mut emit).await,
            Suite::Framing => suites::attack::run_suite(&mut env, Suite::Framing, &mut emit).await,
            Suite::Corpus => suites::corpus::run(&mut env, &mut emit).await,
            Suite::Hostile => suites::attack::run_suite(&mut env, Suite::Hostile, &mut emit).await,
            Suite::Load => suites::load::run(&mut env, &mut emit).await,
        }
    }
    let ran: Vec<&str> = verdicts.iter().map(|(v, _)| v.id.as_str()).collect();
    for id in run.expected.ids() {
        if !ran.contains(&id.as_str()) {
            eprintln!(
                "rrq-conformance: note: expected failure {id:?} is not among the cases that ran"
            );
        }
    }
    if json {
        out(&json_summary(&tally, protocol));
        eprintln!("rrq-conformance: {}", tally.line());
    } else {
        out(tally.line().as_bytes());
    }
    Report { verdicts, tally }
}

/// Every case of the selected suites (the corpus cases from `settings.corpus` or the
/// checkout's corpus; an error when the corpus suite is selected and none can be read).
pub fn list(settings: &Settings, selected: &[Suite]) -> Result<Vec<CaseInfo>, String> {
    let mut out = Vec::new();
    for suite in Suite::ALL.into_iter().filter(|s| selected.contains(s)) {
        match suite {
            Suite::Behaviour => out.extend(suites::behaviour::infos()),
            Suite::Framing | Suite::Hostile => out.extend(suites::attack::infos(suite)),
            Suite::Corpus => {
                let dir = suites::corpus::locate(settings.version, settings.corpus.as_deref())?;
                out.extend(suites::corpus::infos(settings.version, &dir)?);
            }
            Suite::Load => out.extend(suites::load::infos()),
        }
    }
    Ok(out
        .into_iter()
        .filter(|c| settings.wants(c.level, &c.id))
        .collect())
}

/// The case table of the documentation (Markdown), corpus cases counted per group and level.
pub fn markdown(cases: &[CaseInfo]) -> String {
    let mut text = String::new();
    let mut corpus: std::collections::BTreeMap<(String, Level), usize> = Default::default();
    let mut current = None;
    let mut canonical_row = false;
    for c in cases {
        if c.suite == Suite::Corpus && !c.id.ends_with(".canonical") && !c.id.ends_with("/survival")
        {
            let group =
                c.id.trim_start_matches("corpus/")
                    .split('/')
                    .next()
                    .unwrap_or("")
                    .to_string();
            *corpus.entry((group, c.level)).or_default() += 1;
            continue;
        }
        let mut c = c.clone();
        if c.suite == Suite::Corpus && c.id.ends_with(".canonical") {
            // One row for the group canonical cases.
            if canonical_row {
                continue;
            }
            canonical_row = true;
            c.id = "corpus/GROUP.canonical".to_string();
            c.checks = "every response to the cases of GROUP is exactly the bytes rrq-protocol writes (an echo: the canonical bytes of the echoed values); one case per corpus group".to_string();
        }
        if current != Some(c.suite) {
            current = Some(c.suite);
            text.push_str(&format!(
                "\n#### {}\n\n| case | level | checks | why this level |\n|---|---|---|---|\n",
                c.suite
            ));
        }
        text.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            c.id,
            c.level,
            c.checks.replace('|', "\\|"),
            c.why.replace('|', "\\|")
        ));
    }
    if !corpus.is_empty() {
        text.push_str(
            "\n#### corpus cases per group\n\n| group | required | recommended |\n|---|---|---|\n",
        );
        let groups: std::collections::BTreeSet<&String> = corpus.keys().map(|(g, _)| g).collect();
        for g in groups {
            let r = corpus
                .get(&(g.clone(), Level::Required))
                .copied()
                .unwrap_or(0);
            let rec = corpus
                .get(&(g.clone(), Level::Recommended))
                .copied()
                .unwrap_or(0);
            text.push_str(&format!("| `{g}` | {r} | {rec} |\n"));
        }
    }
    text
}
