//! The Python bindings follow the schema: a field added to a copy of the schema shows up in the
//! rendered models, decoder and encoder with no template edit; a schema the runtime cannot serve
//! is a clear error.

use rrq_codegen::lang::Lang;
use rrq_codegen::output::GeneratedFile;
use rrq_codegen::{render_all, Options, Source};
use serde_json::{json, Value};

fn render(schema: &Value) -> anyhow::Result<Vec<GeneratedFile>> {
    Ok(render_all(&Source::Files(vec![serde_json::to_vec_pretty(schema).unwrap()]), &[Lang::Python], &Options::default())?.files)
}

fn file<'a>(files: &'a [GeneratedFile], path: &str) -> &'a str {
    let file = files.iter().find(|f| f.path.to_str() == Some(path)).unwrap_or_else(|| panic!("{path} not rendered"));
    std::str::from_utf8(&file.contents).unwrap()
}

fn with_field(name: &str, field: Value, required: bool) -> Value {
    let mut schema = rrq_codegen::schema::builtin_version("1").unwrap().schema();
    let context = &mut schema["$defs"]["ExecutionContext"];
    context["properties"].as_object_mut().unwrap().insert(name.into(), field);
    if required {
        context["required"].as_array_mut().unwrap().push(json!(name));
    }
    if let Some(written) = context.get_mut("x-rrq-always-written").and_then(Value::as_array_mut) {
        written.push(json!(name));
    }
    schema
}

#[test]
fn an_added_field_changes_models_decoder_and_encoder() {
    let base = render(&rrq_codegen::schema::builtin_version("1").unwrap().schema()).unwrap();
    let field = json!({
        "description": "Scheduling priority of the job, 0 (lowest) to 255.",
        "type": "integer", "format": "uint8", "minimum": 0, "maximum": 255
    });
    let changed = render(&with_field("priority", field, true)).unwrap();

    let (before, after) = (file(&base, "python/rrq_runner/_models.py"), file(&changed, "python/rrq_runner/_models.py"));
    assert!(!before.contains("priority"));
    assert!(after.contains("    priority: int\n    \"\"\"Scheduling priority of the job, 0 (lowest) to 255.\"\"\"\n"), "{after}");

    let codec = file(&changed, "python/rrq_runner/_codec.py");
    assert!(codec.contains("g(\"priority\")"), "decoder reads the field");
    assert!(codec.contains("not 0 <= v7 <= 255"), "decoder checks the bounds");
    assert!(codec.contains("r.priority = v7"), "decoder sets the field");
    assert!(codec.contains(",\"priority\":{_enc_int(v.priority, 0, 255)}"), "encoder writes it last, in declaration order");
    assert!(
        codec.contains("(\"priority\", \"priority\", (\"int\", \"integer in 0..=255\", 0, 255), True, False, True, \"integer in 0..=255\"),"),
        "error tables know it, with the shared expectation text"
    );

    // Every other file is the same except for the provenance (schema hash).
    for f in &base {
        let path = f.path.to_str().unwrap();
        if path.ends_with("_models.py") || path.ends_with("_codec.py") || path.starts_with("schema/") {
            continue;
        }
        let strip = |text: &str| text.lines().filter(|l| !l.contains("schema sha256")).collect::<Vec<_>>().join("\n");
        assert_eq!(strip(file(&base, path)), strip(file(&changed, path)), "{path}");
    }
}

#[test]
fn optional_fields_keep_their_shapes() {
    let nullable = json!({"description": "A label.", "type": ["string", "null"]});
    let models = render(&with_field("label", nullable, false)).unwrap();
    let text = file(&models, "python/rrq_runner/_models.py");
    assert!(text.contains("    label: Nullable[str] = None\n"), "{text}");

    let mut schema = with_field("note", json!({"description": "A note.", "type": ["string", "null"]}), false);
    let written = schema["$defs"]["ExecutionContext"]["x-rrq-always-written"].as_array_mut().unwrap();
    written.retain(|v| v != "note");
    let text = render(&schema).unwrap();
    let models = file(&text, "python/rrq_runner/_models.py");
    assert!(models.contains("    note: Omittable[str] = None\n"), "{models}");
    let codec = file(&text, "python/rrq_runner/_codec.py");
    assert!(codec.contains("if v7 is not None:\n        p('\"note\":' + _enc_str(v7))"), "{codec}");

    let keyword = render(&with_field("class", json!({"description": "A keyword.", "type": "boolean", "default": false}), false)).unwrap();
    let models = file(&keyword, "python/rrq_runner/_models.py");
    assert!(models.contains("    class_: bool = False\n"), "{models}");
}

#[test]
fn a_schema_without_what_the_runtime_needs_is_a_clear_error() {
    let mut schema = rrq_codegen::schema::builtin_version("1").unwrap().schema();
    schema["$defs"]["ExecutionRequest"]["properties"].as_object_mut().unwrap().remove("function_name");
    let required = schema["$defs"]["ExecutionRequest"]["required"].as_array_mut().unwrap();
    required.retain(|v| v != "function_name");
    let error = format!("{:#}", render(&schema).unwrap_err());
    assert!(error.contains("needs a field `function_name` in `ExecutionRequest`"), "{error}");
}
