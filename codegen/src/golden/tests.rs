//! Tests of the corpus builder. They run for every built-in protocol version and find what
//! they check through the IR (by type and role), never by protocol field name; the target
//! helpers are also tested on small hand-written schemas.

use super::fixtures::{Flavor, Fixtures};
use super::targets::{AnyShape, Ctx};
use super::*;
use crate::ir::{FieldRole, VariantRole};
use crate::schema::builtins;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Every built-in version's IR and judged corpus, built once for all the tests.
fn corpora() -> &'static [(Builtin, Ir, Vec<JudgedGroup>)] {
    static CORPORA: OnceLock<Vec<(Builtin, Ir, Vec<JudgedGroup>)>> = OnceLock::new();
    CORPORA.get_or_init(|| {
        builtins()
            .into_iter()
            .map(|b| {
                let ir = crate::ir::lower(&b.schema()).unwrap();
                let judged = corpus(b).unwrap_or_else(|e| panic!("the corpus of protocol {} builds: {e:#}", b.version));
                (b, ir, judged)
            })
            .collect()
    })
}

fn verdict<'a>(groups: &'a [JudgedGroup], name: &str) -> &'a Verdict {
    let (group, slug) = name.split_once('/').unwrap();
    &groups
        .iter()
        .find(|g| g.name == group)
        .and_then(|g| g.cases.iter().find(|(c, _)| c.slug == slug))
        .unwrap_or_else(|| panic!("no case {name}"))
        .1
}

fn kind(v: &Verdict) -> &str {
    match v {
        Verdict::Accept { .. } => "accept",
        Verdict::Reject { kind, .. } => kind,
    }
}

#[test]
fn every_version_has_at_least_150_cases_with_unique_names_in_non_empty_groups() {
    for (builtin, _, groups) in corpora() {
        let total: usize = groups.iter().map(|g| g.cases.len()).sum();
        assert!(total >= 150, "protocol {}: only {total} cases", builtin.version);
        let mut names = BTreeSet::new();
        for group in groups {
            assert!(!group.cases.is_empty(), "protocol {}: group {} is empty", builtin.version, group.name);
            for (case, _) in &group.cases {
                assert!(names.insert(format!("{}/{}", group.name, case.slug)), "duplicate {}", case.slug);
            }
        }
        let per_verdict: BTreeMap<&str, usize> = groups.iter().flat_map(|g| &g.cases).fold(BTreeMap::new(), |mut m, (_, v)| {
            *m.entry(if v.is_accept() { "accept" } else { "reject" }).or_default() += 1;
            m
        });
        assert!(per_verdict["accept"] >= 50 && per_verdict["reject"] >= 50, "{per_verdict:?}");
    }
}

#[test]
fn every_error_kind_occurs_in_every_version() {
    for (builtin, _, groups) in corpora() {
        let kinds: BTreeSet<&str> = groups
            .iter()
            .flat_map(|g| &g.cases)
            .filter_map(|(_, v)| match v {
                Verdict::Reject { kind, .. } => Some(*kind),
                Verdict::Accept { .. } => None,
            })
            .collect();
        assert_eq!(kinds, BTreeSet::from(["json", "length", "missing", "type", "value"]), "protocol {}", builtin.version);
    }
}

/// The limit the crate documents is the one serde_json enforces: a document exactly
/// MAX_NESTING_DEPTH deep parses, one level more does not, wherever the depth is.
#[test]
fn nesting_limit_constant_matches_serde_json() {
    for (builtin, ir, groups) in corpora() {
        assert_eq!(ir.meta.max_nesting_depth, rrq_protocol::MAX_NESTING_DEPTH as u64);
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
        // Every any-JSON site twice (arrays, objects) and the two ignored places, at and beyond.
        let sites = Ctx::new(ir).unwrap().any_sites().len();
        assert_eq!(seen, 4 * sites + 4, "protocol {}", builtin.version);
    }
}

/// The systematic slug of a field: `<tag>-<field path>`.
fn systematic(t: &targets::Target) -> String {
    format!("{}-{}", t.variant.tag_value, t.path[1..].join("-"))
}

/// Spot checks, found through the roles, that the corpus exercises what its names say (the
/// verdicts come from the reference; these guard against a builder bug making other inputs).
#[test]
fn cases_found_by_role_have_the_expected_verdicts() {
    for (builtin, ir, groups) in corpora() {
        let ctx = Ctx::new(ir).unwrap();
        let request = ctx.variant(VariantRole::Request, "test").unwrap();
        let role = |roles: &[FieldRole]| ctx.role(request, roles, "test").unwrap();
        let attempt = role(&[FieldRole::Context, FieldRole::Attempt]);
        let deadline = role(&[FieldRole::Context, FieldRole::Deadline]);
        let enqueued = role(&[FieldRole::Context, FieldRole::EnqueueTime]);
        let version = role(&[FieldRole::ProtocolVersion]);
        let queue = role(&[FieldRole::Context, FieldRole::QueueName]);
        let input = ctx.with_role(request, FieldRole::Input).remove(0);
        let any = ctx.any_sites().remove(0);
        let tag = &request.tag_value;
        for (name, expected) in [
            (format!("messages/{tag}-minimal"), "accept"),
            (format!("types/{}-null", systematic(&attempt)), "type"),
            (format!("types/{}-null", systematic(&deadline)), "accept"),
            (format!("types/{}-null", systematic(&version)), "type"),
            (format!("missing/{}", systematic(&queue)), "missing"),
            (format!("defaults/{}-absent", systematic(&input)), "accept"),
            ("frame/header-over-max".into(), "length"),
            ("frame/body-bom".into(), "json"),
            (format!("timestamps/{}-space-separator", enqueued.slug()), "value"),
            (format!("timestamps/{}-fraction-9", deadline.slug()), "accept"),
            ("strings/lone-low-surrogate".into(), "json"),
            (format!("numbers/{}-1e400", any.target.slug()), "json"),
            (format!("numbers/{}-minus-one", attempt.slug()), "value"),
            (format!("numbers/{}-exponent", attempt.slug()), "type"),
            ("envelope/array".into(), "type"),
            ("duplicates/struct-field-first-invalid".into(), "accept"),
            ("limits/string-1mib".into(), "accept"),
        ] {
            assert_eq!(kind(verdict(groups, &name)), expected, "protocol {}: {name}", builtin.version);
        }
    }
}

/// A version's literal comes from its schema, and "another version" from that.
#[test]
fn protocol_versions_come_from_the_schema() {
    for (builtin, ir, groups) in corpora() {
        let ctx = Ctx::new(ir).unwrap();
        let request = ctx.variant(VariantRole::Request, "test").unwrap();
        let version = ctx.role(request, &[FieldRole::ProtocolVersion], "test").unwrap();
        assert_eq!(ctx.fx.version().unwrap(), builtin.version);
        let next = (builtin.version.parse::<u64>().unwrap() + 1).to_string();
        let Verdict::Accept { canonical } = verdict(groups, &format!("messages/{}-other-protocol-version", request.tag_value)) else {
            panic!("rejected")
        };
        let message: Value = serde_json::from_slice(&canonical[FRAME_HEADER_LEN..]).unwrap();
        assert_eq!(fixtures::get(&message, &version.path), Some(&json!(next)));
        let maximal = ctx.fx.maximal(request).unwrap();
        assert_eq!(fixtures::get(&maximal, &version.path), Some(&json!(builtin.version)));
    }
}

/// The base messages are built from the IR: the minimal one holds the required fields only,
/// the maximal one every field with a value; ids are chosen by role, the same in a message.
#[test]
fn fixtures_follow_the_ir_and_the_roles() {
    for (_, ir, _) in corpora() {
        let ctx = Ctx::new(ir).unwrap();
        for variant in &ctx.root.variants {
            let (min, max) = (ctx.fx.minimal(variant).unwrap(), ctx.fx.maximal(variant).unwrap());
            for t in ctx.targets.iter().filter(|t| std::ptr::eq(t.variant, variant)) {
                let in_max = fixtures::get(&max, &t.path);
                assert!(in_max.is_some_and(|v| !v.is_null()), "{}: no value in the maximal message", t.error_path());
                let parent_present = fixtures::get(&min, &t.path[..t.path.len() - 1]).is_some();
                if parent_present {
                    assert_eq!(fixtures::get(&min, &t.path).is_some(), t.field.required, "{}", t.error_path());
                }
            }
        }
        let request = ctx.variant(VariantRole::Request, "test").unwrap();
        let max = ctx.fx.maximal(request).unwrap();
        let job = ctx.role(request, &[FieldRole::JobId], "test").unwrap();
        let context_job = ctx.role(request, &[FieldRole::Context, FieldRole::JobId], "test").unwrap();
        assert_eq!(fixtures::get(&max, &job.path), fixtures::get(&max, &context_job.path));
        let id = ctx.role(request, &[FieldRole::RequestId], "test").unwrap();
        assert_eq!(fixtures::get(&ctx.fx.minimal(request).unwrap(), &id.path), Some(&json!("req-1")));
    }
}

/// Parses a corpus file: its deepest messages sit inside the file's own nesting, beyond
/// serde_json's default recursion limit.
fn read_corpus_file(text: &str) -> Value {
    parse_unbounded(text.as_bytes()).unwrap()
}

#[test]
fn rendered_files_are_one_per_group_and_deterministic() {
    for (builtin, _, judged) in corpora() {
        let provenance =
            Provenance { generator_version: "0".into(), schemas: vec![(Some(builtin.version.into()), "00".into())] };
        let folder = format!("{}/", builtin.module());
        let files = render(*builtin, &folder, &provenance).unwrap();
        assert_eq!(files.len(), judged.len());
        assert_eq!(files, render(*builtin, &folder, &provenance).unwrap());
        for file in &files {
            let text = std::str::from_utf8(&file.contents).unwrap();
            assert!(text.ends_with("}\n"));
            let value = read_corpus_file(text);
            let group = value["group"].as_str().unwrap();
            assert_eq!(file.path, std::path::PathBuf::from(format!("{folder}golden/{group}.json")));
            for case in value["cases"].as_array().unwrap() {
                assert!(case["name"].as_str().unwrap().starts_with(&format!("{group}/")));
                let frame = base64_decode(case["frame"].as_str().unwrap()).unwrap();
                let again = judge(*builtin, &frame).unwrap();
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
}

#[test]
fn multi_error_frames_report_the_same_error_in_every_key_order() {
    // Two wrong fields: the decoder reports the first in declaration order, whatever the
    // input's key order or serde_json's map type, so the order check accepts the case.
    for (builtin, ir, _) in corpora() {
        let ctx = Ctx::new(ir).unwrap();
        let cancel = ctx.variant(VariantRole::Cancel, "test").unwrap();
        let job = ctx.role(cancel, &[FieldRole::JobId], "test").unwrap();
        let kill = ctx.role(cancel, &[FieldRole::HardKill], "test").unwrap();
        let mut payload = Map::new();
        payload.insert(kill.field.name.clone(), json!("x"));
        payload.insert(job.field.name.clone(), json!(1));
        let frame = Case::value("x", "", &ctx.fx.envelope(cancel, Value::Object(payload))).frame;
        let verdict = judge(*builtin, &frame).unwrap();
        let Verdict::Reject { path, .. } = &verdict else { panic!("{verdict:?}") };
        assert_eq!(path.as_deref(), Some(job.error_path().as_str()));
        check_order_independent(*builtin, "x", &frame, &verdict).unwrap();
        // The check judges the reordered frames: a verdict other than theirs fails it (the
        // frame's own bytes are not judged again, so the first order differing from them is).
        let Verdict::Reject { kind, message, .. } = verdict else { unreachable!() };
        let elsewhere = Verdict::Reject { kind, path: Some("$".into()), message };
        let err = check_order_independent(*builtin, "x", &frame, &elsewhere).unwrap_err();
        assert!(format!("{err:#}").contains("depends on key order"), "{err:#}");
        // An accepted frame: a canonical frame other than the reordered frames' fails it.
        let accepted = Case::value("x", "", &ctx.fx.minimal(cancel).unwrap()).frame;
        let Verdict::Accept { mut canonical } = judge(*builtin, &accepted).unwrap() else { panic!("accepted") };
        check_order_independent(*builtin, "x", &accepted, &Verdict::Accept { canonical: canonical.clone() }).unwrap();
        canonical.push(b' ');
        assert!(check_order_independent(*builtin, "x", &accepted, &Verdict::Accept { canonical }).is_err());
    }
}

/// A case whose value landed where the decoder does not read it, or whose error is elsewhere
/// than where it tests, fails judging, naming the case.
#[test]
fn cases_that_no_longer_test_their_value_fail_judging() {
    let (builtin, ir, _) = corpora().last().unwrap();
    let ctx = Ctx::new(ir).unwrap();
    let smallest = ctx.smallest().unwrap();
    let mut ignored = ctx.fx.minimal(smallest).unwrap();
    let path = vec![ctx.root.content.clone(), "no_such_field".to_string()];
    ignored = fixtures::with(ignored, &path, json!(5));
    let moved = Case::value("moved", "", &ignored).holds_json(&path, json!(5));
    let err = judge_groups(*builtin, ir, vec![Group { name: "probe", cases: vec![moved] }]).unwrap_err();
    assert!(format!("{err:#}").contains("probe/moved") && format!("{err:#}").contains("no longer tests"), "{err:#}");

    let silent = Case::value("silent", "", &ctx.fx.minimal(smallest).unwrap());
    let err = judge_groups(*builtin, ir, vec![Group { name: "probe", cases: vec![silent] }]).unwrap_err();
    assert!(format!("{err:#}").contains("records no value"), "{err:#}");

    let site = ctx.string_site("test").unwrap();
    let other = ctx.targets.iter().find(|t| std::ptr::eq(t.variant, site.variant) && t.path != site.path).unwrap();
    let wrong = fixtures::with(ctx.fx.minimal(site.variant).unwrap(), &site.path, json!(1));
    let elsewhere = Case::value("elsewhere", "", &wrong).holds_json(&other.path, Value::Null);
    let err = judge_groups(*builtin, ir, vec![Group { name: "probe", cases: vec![elsewhere] }]).unwrap_err();
    assert!(format!("{err:#}").contains("outside what the case tests"), "{err:#}");
}

// ---------------------------------------------------------------------------------------------
// The target helpers on small hand-written schemas.

/// A small protocol: two messages (`go` with a nested struct, `stop`), every kind of field; its
/// version is the default of its protocol-version field (it has no `x-rrq`).
fn small_schema() -> Value {
    json!({
        "title": "Msg",
        "oneOf": [
            {"type": "object", "properties": {"kind": {"type": "string", "const": "go"}, "body": {"$ref": "#/$defs/Go"}},
             "required": ["kind", "body"], "x-rrq-role": VariantRole::Request.as_str()},
            {"type": "object", "properties": {"kind": {"type": "string", "const": "stop"}, "body": {"$ref": "#/$defs/Stop"}},
             "required": ["kind", "body"], "x-rrq-role": VariantRole::Cancel.as_str()}
        ],
        "$defs": {
            "Go": {"type": "object", "properties": {
                "version": {"type": "string", "default": "7", "x-rrq-role": "protocol-version"},
                "id": {"type": "string", "x-rrq-role": "request-id"},
                "items": {"type": "array", "items": true, "default": [], "x-rrq-role": "input"},
                "named": {"type": "object", "additionalProperties": true, "default": {}},
                "inner": {"$ref": "#/$defs/Inner"},
                "when": {"type": ["string", "null"], "format": "date-time"}
            }, "required": ["id", "inner"]},
            "Inner": {"type": "object", "properties": {
                "n": {"type": "integer", "minimum": 5, "maximum": 9},
                "when": {"type": "string", "format": "date-time"},
                "blob": true,
                "tags": {"type": "object", "additionalProperties": {"type": "string"}}
            }, "required": ["n", "when"]},
            "Stop": {"type": "object", "properties": {
                "id": {"type": "string", "x-rrq-role": "job-id"},
                "now": {"type": "boolean", "default": false}
            }, "required": ["id"]}
        }
    })
}

fn small_ir() -> Ir {
    crate::ir::lower(&small_schema()).unwrap()
}

#[test]
fn targets_have_paths_computed_from_the_ir() {
    let ir = small_ir();
    let ctx = Ctx::new(&ir).unwrap();
    let paths: Vec<String> = ctx.targets.iter().map(|t| format!("{}:{}", t.variant.tag_value, t.error_path())).collect();
    assert_eq!(
        paths,
        [
            "go:body.version", "go:body.id", "go:body.items", "go:body.named", "go:body.inner", "go:body.inner.n",
            "go:body.inner.when", "go:body.inner.blob", "go:body.inner.tags", "go:body.when", "stop:body.id", "stop:body.now"
        ]
    );
    let timestamps: Vec<String> = ctx.of_type(&Type::Timestamp).iter().map(|t| t.error_path()).collect();
    assert_eq!(timestamps, ["body.inner.when", "body.when"]);
    let arrays_of_any = ctx.fields_where(|f| matches!(&f.ty, Type::Array { items } if **items == Type::Any));
    assert_eq!(arrays_of_any.iter().map(|t| t.error_path()).collect::<Vec<_>>(), ["body.items"]);
    let shapes: Vec<(String, AnyShape, usize)> =
        ctx.any_sites().iter().map(|s| (s.target.error_path(), s.shape, s.container_depth())).collect();
    assert_eq!(
        shapes,
        [
            ("body.items".into(), AnyShape::Item, 3),
            ("body.named".into(), AnyShape::MapValue, 3),
            ("body.inner.blob".into(), AnyShape::Value, 3)
        ]
    );
    // Same-named fields get slugs made unique by their enclosing fields.
    assert_eq!(targets::unique_slugs(&ctx.of_type(&Type::Timestamp)), ["inner-when", "go-when"]);
    let ids = ctx.fields_where(|f| f.name == "id");
    assert_eq!(targets::unique_slugs(&ids), ["go-id", "stop-id"]);
    // Roles: a field through roles, the smallest message, the representative string.
    let go = ctx.variant(VariantRole::Request, "test").unwrap();
    assert_eq!(ctx.role(go, &[FieldRole::RequestId], "test").unwrap().error_path(), "body.id");
    let err = ctx.variant(VariantRole::Response, "the test").unwrap_err().to_string();
    assert!(err.contains("`response`"), "{err}");
    let err = ctx.role(go, &[FieldRole::Deadline], "the test").unwrap_err().to_string();
    assert!(err.contains("`deadline`") && err.contains("`go`"), "{err}");
    assert_eq!(ctx.smallest().unwrap().tag_value, "stop");
    assert_eq!(ctx.string_site("test").unwrap().error_path(), "body.id");
    assert_eq!(ctx.string_site("test").unwrap().variant.tag_value, "stop");
}

#[test]
fn fixture_values_follow_types_bounds_and_roles() {
    let ir = small_ir();
    let fx = Fixtures::new(&ir).unwrap();
    let ctx = Ctx::new(&ir).unwrap();
    let go = &ctx.root.variants[0];
    assert_eq!(
        fx.minimal(go).unwrap(),
        json!({"kind": "go", "body": {"id": "req-1", "inner": {"n": 5, "when": fixtures::ENQUEUE_TIME}}})
    );
    let max = fx.maximal(go).unwrap();
    assert_eq!(max["body"]["version"], json!("7"), "the protocol version is the schema's");
    assert_eq!(max["body"]["inner"]["n"], json!(5), "3 raised to the lower bound");
    assert!(max["body"]["items"].as_array().is_some_and(|a| !a.is_empty()));
    assert_eq!(fx.other_protocol_version().unwrap(), "8");
    assert_eq!(fx.typical(&ctx.root.variants[1]).unwrap(), json!({"kind": "stop", "body": {"id": "job-1"}}));
    assert_eq!(fx.value(&ctx.targets[1].field.clone(), Flavor::Max).unwrap(), json!("req-2"));
    // Setting a field inside an absent struct creates it; an absent field is appended.
    let stop = &ctx.root.variants[1];
    let set = fx.set(stop, fx.minimal(stop).unwrap(), &["body".into(), "now".into()], json!(true)).unwrap();
    assert_eq!(set, json!({"kind": "stop", "body": {"id": "job-1", "now": true}}));
}

#[test]
fn any_sites_wrap_values_by_shape() {
    let ir = small_ir();
    let ctx = Ctx::new(&ir).unwrap();
    let sites = ctx.any_sites();
    let wrapped: Vec<String> = sites.iter().map(|s| s.wrap("1")).collect();
    assert_eq!(wrapped, ["[1]", "{\"k\":1}", "1"]);
    let many: Vec<String> = sites.iter().map(|s| s.wrap_many(&["1".into(), "2".into()])).collect();
    assert_eq!(many, ["[1,2]", "{\"k0\":1,\"k1\":2}", "[1,2]"]);
    assert_eq!(sites[1].wrap_object("{\"a\":1}"), "{\"a\":1}");
    assert_eq!(sites[0].wrap_object("{\"a\":1}"), "[{\"a\":1}]");
}

/// `schema` (a built-in one) with every property that `drop` selects removed.
fn without_properties(mut schema: Value, drop: impl Fn(&Value) -> bool) -> Value {
    for def in schema["$defs"].as_object_mut().unwrap().values_mut() {
        let Some(properties) = def.get_mut("properties").and_then(Value::as_object_mut) else { continue };
        let gone: Vec<String> = properties.iter().filter(|(_, p)| drop(p)).map(|(k, _)| k.clone()).collect();
        for name in &gone {
            properties.shift_remove(name);
        }
        for list in ["required", "x-rrq-always-written"] {
            if let Some(Value::Array(names)) = def.get_mut(list) {
                names.retain(|n| !gone.iter().any(|g| n == g));
            }
        }
    }
    schema
}

fn build_error(schema: &Value) -> String {
    let ir = crate::ir::lower(schema).unwrap();
    format!("{:#}", build(&ir).expect_err("the corpus must not build"))
}

/// `schema` (a built-in one) with every property that `pick` selects turned into a plain
/// string (keeping its role).
fn retyped(mut schema: Value, pick: impl Fn(&Value) -> bool) -> Value {
    for def in schema["$defs"].as_object_mut().unwrap().values_mut() {
        let Some(properties) = def.get_mut("properties").and_then(Value::as_object_mut) else { continue };
        for property in properties.values_mut() {
            if pick(property) {
                let mut plain = json!({"type": "string"});
                if let Some(role) = property.get(crate::ir::ROLE_KEY) {
                    plain[crate::ir::ROLE_KEY] = role.clone();
                }
                *property = plain;
            }
        }
    }
    schema
}

/// A family whose only kind of target is gone fails generation, naming the kind; a kind that
/// is gone among others only loses its cases.
#[test]
fn a_family_without_targets_fails_naming_the_kind() {
    let latest = builtins().last().unwrap().schema();
    let any = |v: &Value| v.as_object().is_some_and(|o| o.keys().all(|k| k.starts_with("x-") || k == "description")) || v == &json!(true);
    let holds_any = |p: &Value| any(p) || p.get("additionalProperties").is_some_and(any) || p.get("items").is_some_and(any);
    let err = build_error(&retyped(latest.clone(), holds_any));
    assert!(err.contains(targets::ANY_KIND), "{err}");
    let err = build_error(&retyped(latest.clone(), |p| p.get("format") == Some(&json!("date-time"))));
    assert!(err.contains("timestamp field"), "{err}");
    // Without floats the float cases go, and every group keeps cases.
    let ir = crate::ir::lower(&retyped(latest, |p| p.get("format") == Some(&json!("double")))).unwrap();
    let groups = build(&ir).unwrap();
    assert!(groups.iter().all(|g| !g.cases.is_empty()));
    let floats = groups.iter().flat_map(|g| &g.cases).filter(|c| c.slug.contains("retry-after")).count();
    assert_eq!(floats, 0);
}

/// A case about a runner role fails generation when the schema lacks the role, naming it.
#[test]
fn a_removed_role_fails_generation_naming_it() {
    let latest = builtins().last().unwrap().schema();
    for role in [FieldRole::ProtocolVersion, FieldRole::Input, FieldRole::Status, FieldRole::ErrorType] {
        let err = build_error(&without_properties(latest.clone(), |p| p.get(crate::ir::ROLE_KEY) == Some(&json!(role.as_str()))));
        assert!(err.contains(&format!("`{}`", role.as_str())), "{}: {err}", role.as_str());
    }
}

/// Writes every built-in version's corpus under `$GOLDEN_DUMP/v<N>/golden/` (for comparing
/// corpora across changes of the builder): `GOLDEN_DUMP=/tmp/x cargo test -p rrq-codegen --lib
/// golden::tests::dump -- --ignored`.
#[test]
#[ignore]
fn dump() {
    let Some(dir) = std::env::var_os("GOLDEN_DUMP") else { return };
    for builtin in builtins() {
        let provenance = Provenance { generator_version: "dump".into(), schemas: vec![(Some(builtin.version.into()), "-".into())] };
        for file in render(builtin, &format!("{}/", builtin.module()), &provenance).unwrap() {
            let path = std::path::Path::new(&dir).join(&file.path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, &file.contents).unwrap();
        }
    }
}
