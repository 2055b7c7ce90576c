use super::*;
use std::collections::BTreeMap;

fn v1() -> Builtin {
    crate::schema::builtin_version("1").unwrap()
}

fn judged() -> Vec<JudgedGroup> {
    corpus(v1()).expect("the corpus builds")
}

#[test]
fn corpus_has_at_least_150_cases_with_unique_names_in_non_empty_groups() {
    let groups = judged();
    let total: usize = groups.iter().map(|g| g.cases.len()).sum();
    assert!(total >= 150, "only {total} cases");
    let mut names = BTreeSet::new();
    for group in &groups {
        assert!(!group.cases.is_empty(), "group {} is empty", group.name);
        for (case, _) in &group.cases {
            assert!(names.insert(format!("{}/{}", group.name, case.slug)), "duplicate {}", case.slug);
        }
    }
    let per_verdict: BTreeMap<&str, usize> = groups
        .iter()
        .flat_map(|g| &g.cases)
        .fold(BTreeMap::new(), |mut m, (_, v)| {
            *m.entry(if v.is_accept() { "accept" } else { "reject" }).or_default() += 1;
            m
        });
    assert!(per_verdict["accept"] >= 50 && per_verdict["reject"] >= 50, "{per_verdict:?}");
}

#[test]
fn every_error_kind_occurs() {
    let kinds: BTreeSet<&str> = judged()
        .iter()
        .flat_map(|g| &g.cases)
        .filter_map(|(_, v)| match v {
            Verdict::Reject { kind, .. } => Some(*kind),
            Verdict::Accept { .. } => None,
        })
        .collect();
    assert_eq!(kinds, BTreeSet::from(["json", "length", "missing", "type", "value"]));
}

fn verdict(groups: &[JudgedGroup], name: &str) -> Verdict {
    let (group, slug) = name.split_once('/').unwrap();
    groups
        .iter()
        .find(|g| g.name == group)
        .and_then(|g| g.cases.iter().find(|(c, _)| c.slug == slug))
        .unwrap_or_else(|| panic!("no case {name}"))
        .1
        .clone()
}

fn kind(v: &Verdict) -> &str {
    match v {
        Verdict::Accept { .. } => "accept",
        Verdict::Reject { kind, .. } => kind,
    }
}

/// The limit the crate documents is the one serde_json enforces: a document exactly
/// MAX_NESTING_DEPTH deep parses, one level more does not, wherever the depth is.
#[test]
fn nesting_limit_constant_matches_serde_json() {
    let groups = judged();
    let limits = groups.iter().find(|g| g.name == "limits").unwrap();
    let mut seen = 0;
    for (case, verdict) in &limits.cases {
        if case.slug.ends_with("-at-limit") {
            assert!(verdict.is_accept(), "{} rejected: {verdict:?}", case.slug);
            seen += 1;
        } else if case.slug.ends_with("-beyond-limit") {
            assert_eq!(kind(verdict), "json", "{}", case.slug);
            seen += 1;
        }
    }
    assert!(seen >= 12);
}

/// Spot checks that the corpus really exercises what its names say (the verdicts themselves
/// come from the reference; these guard against a builder bug producing a different input).
#[test]
fn named_cases_have_the_expected_shape() {
    let groups = judged();
    for (name, expected) in [
        ("messages/request-minimal", "accept"),
        ("types/request-context-attempt-null", "type"),
        ("types/request-context-deadline-null", "accept"),
        ("types/request-protocol_version-null", "type"),
        ("missing/request-context-queue_name", "missing"),
        ("defaults/request-args-absent", "accept"),
        ("frame/header-over-max", "length"),
        ("frame/body-bom", "json"),
        ("timestamps/enqueue-space-separator", "value"),
        ("strings/lone-low-surrogate", "json"),
        ("numbers/args-1e400", "json"),
        ("numbers/attempt-minus-one", "value"),
        ("numbers/attempt-exponent", "type"),
        ("envelope/array", "type"),
        ("duplicates/struct-field-first-invalid", "accept"),
        ("limits/string-1mib", "accept"),
    ] {
        assert_eq!(kind(&verdict(&groups, name)), expected, "{name}");
    }
}

/// Parses a corpus file: its deepest messages sit inside the file's own nesting, beyond
/// serde_json's default recursion limit.
fn read_corpus_file(text: &str) -> Value {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let value = serde::Deserialize::deserialize(&mut de).unwrap();
    de.end().unwrap();
    value
}

#[test]
fn rendered_files_are_one_per_group_and_deterministic() {
    let provenance = Provenance { generator_version: "0".into(), schemas: vec![(Some("1".into()), "00".into())] };
    let files = render(v1(), "v1/", &provenance).unwrap();
    assert_eq!(files.len(), judged().len());
    assert_eq!(files, render(v1(), "v1/", &provenance).unwrap());
    for file in &files {
        let text = std::str::from_utf8(&file.contents).unwrap();
        assert!(text.ends_with("}\n"));
        let value = read_corpus_file(text);
        let group = value["group"].as_str().unwrap();
        assert_eq!(file.path, std::path::PathBuf::from(format!("v1/golden/{group}.json")));
        for case in value["cases"].as_array().unwrap() {
            assert!(case["name"].as_str().unwrap().starts_with(&format!("{group}/")));
            let frame = base64_decode(case["frame"].as_str().unwrap()).unwrap();
            let again = judge(v1(), &frame).unwrap();
            match case["verdict"].as_str().unwrap() {
                "accept" => {
                    let canonical = base64_decode(case["canonical"].as_str().unwrap()).unwrap();
                    assert_eq!(again, Verdict::Accept { canonical: canonical.clone() });
                    let body: Value = serde_json::from_slice(&canonical[4..]).unwrap();
                    assert_eq!(case["message"], body);
                }
                "reject" => {
                    let Verdict::Reject { kind, path, .. } = again else { panic!() };
                    assert_eq!(case["error"]["kind"], json!(kind));
                    assert_eq!(case["error"].get("path").and_then(Value::as_str), path.as_deref());
                }
                other => panic!("verdict {other}"),
            }
        }
    }
}

#[test]
fn multi_error_frames_report_the_same_error_in_every_key_order() {
    // Two wrong fields: the decoder reports the first in declaration order, whatever the
    // input's key order or serde_json's map type, so the order check accepts the case.
    let frame = Case::body("x", "", r#"{"type":"cancel","payload":{"hard_kill":"x","job_id":1}}"#).frame;
    let verdict = judge(v1(), &frame).unwrap();
    let Verdict::Reject { path, .. } = &verdict else { panic!("{verdict:?}") };
    assert_eq!(path.as_deref(), Some("payload.job_id"));
    check_order_independent(v1(), "x", &frame, &verdict).unwrap();
}
