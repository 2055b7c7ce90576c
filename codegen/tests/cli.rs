//! The command line, run as a user runs it.

use std::path::Path;
use std::process::{Command, Output};

fn codegen(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rrq-codegen"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("rrq-codegen runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn generated_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = codegen(&["generate", "--out", "gen"], dir.path());
    assert!(out.status.success(), "generate failed: {}", text(&out.stderr));
    dir
}

#[test]
fn check_is_clean_right_after_generate() {
    let dir = generated_tree();
    let out = codegen(&["check", "--out", "gen"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let again = codegen(&["generate", "--out", "gen"], dir.path());
    assert!(text(&again.stdout).contains("(0 changed)"), "generate is idempotent: {}", text(&again.stdout));
}

#[test]
fn check_reports_stale_missing_and_extra_files() {
    let dir = generated_tree();
    let gen = dir.path().join("gen");
    let schema = gen.join("v1/schema.json");
    let edited = std::fs::read_to_string(&schema).unwrap().replacen("\"oneOf\"", "\"anyOf\"", 1);
    std::fs::write(&schema, edited).unwrap();
    std::fs::write(gen.join("v1/stray.json"), "{}").unwrap();

    let out = codegen(&["check", "--out", "gen"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    assert!(report.contains("STALE   v1/schema.json"), "{report}");
    assert!(report.contains("-  \"anyOf\": [") && report.contains("+  \"oneOf\": ["), "unified diff: {report}");
    assert!(report.contains("EXTRA   v1/stray.json"), "{report}");

    std::fs::remove_file(&schema).unwrap();
    let report = text(&codegen(&["check", "--out", "gen"], dir.path()).stdout);
    assert!(report.contains("MISSING v1/schema.json"), "{report}");

    // generate repairs everything, the stray file included.
    assert!(codegen(&["generate", "--out", "gen"], dir.path()).status.success());
    assert!(!gen.join("v1/stray.json").exists());
    assert_eq!(codegen(&["check", "--out", "gen"], dir.path()).status.code(), Some(0));
}

#[test]
fn build_output_and_schema_history_are_not_reported_as_extra() {
    let dir = generated_tree();
    let cache = dir.path().join("gen/v1/__pycache__");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join("x.pyc"), "").unwrap();
    let history = dir.path().join("gen/v1/history");
    std::fs::create_dir_all(&history).unwrap();
    std::fs::write(history.join("0.0.1.schema.json"), "{}").unwrap();
    assert_eq!(codegen(&["check", "--out", "gen"], dir.path()).status.code(), Some(0));
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let dir = generated_tree();
    for version in ["1", "2"] {
        let out = codegen(&["schema", "--protocol", version], dir.path());
        assert!(out.status.success());
        let committed = std::fs::read(dir.path().join(format!("gen/v{version}/schema.json"))).unwrap();
        assert_eq!(out.stdout, committed);
    }
    let latest = rrq_codegen::schema::builtins().last().unwrap().module();
    let committed = std::fs::read(dir.path().join(format!("gen/{latest}/schema.json"))).unwrap();
    assert_eq!(codegen(&["schema"], dir.path()).stdout, committed, "the latest by default");
}

#[test]
fn an_unsupported_schema_is_an_error_naming_the_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let mut schema = rrq_codegen::schema::latest_schema();
    schema["$defs"]["CancelRequest"]["properties"]["job_id"]["minLength"] = 1.into();
    std::fs::write(dir.path().join("s.json"), serde_json::to_vec(&schema).unwrap()).unwrap();
    let out = codegen(&["generate", "--schema", "s.json", "--out", "gen"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("/$defs/CancelRequest/properties/job_id/minLength"), "{err}");
    assert!(!dir.path().join("gen").exists(), "nothing is written on error");
}

#[test]
fn a_schema_file_renders_without_the_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let schema = rrq_codegen::schema::latest_schema();
    std::fs::write(dir.path().join("s.json"), serde_json::to_vec_pretty(&schema).unwrap()).unwrap();
    let out = codegen(&["generate", "--schema", "s.json", "--out", "gen", "--lang", "python"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let module = rrq_codegen::schema::builtins().last().unwrap().module();
    assert!(dir.path().join(format!("gen/{module}/schema.json")).exists());
    assert!(!dir.path().join(format!("gen/{module}/golden")).exists());
    assert!(!dir.path().join("gen/typescript").exists());
}

#[test]
fn help_documents_every_flag() {
    let dir = tempfile::tempdir().unwrap();
    let top = text(&codegen(&["--help"], dir.path()).stdout);
    for command in ["generate", "check", "schema", "ir"] {
        assert!(top.contains(command), "{command} missing from --help: {top}");
    }
    let generate = text(&codegen(&["generate", "--help"], dir.path()).stdout);
    for flag in ["--schema <FILE>", "--out <DIR>", "--lang <LANG>", "python", "typescript"] {
        assert!(generate.contains(flag), "{flag} missing from generate --help: {generate}");
    }
}

#[test]
fn every_generated_file_carries_provenance() {
    let options = rrq_codegen::Options::default();
    let files = rrq_codegen::render_all(&rrq_codegen::Source::BuiltIn, &rrq_codegen::lang::Lang::ALL, &options).unwrap().files;
    let schemas: Vec<_> = files.iter().filter(|f| f.path.ends_with("schema.json")).collect();
    assert_eq!(schemas.len(), rrq_codegen::schema::builtins().len());
    let shas: Vec<String> =
        schemas.iter().map(|s| format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&s.contents))).collect();
    for file in files.iter().filter(|f| !f.path.ends_with("schema.json")) {
        let contents = String::from_utf8_lossy(&file.contents);
        assert!(shas.iter().any(|sha| contents.contains(sha)), "{} lacks a schema's sha256", file.path.display());
    }
}
