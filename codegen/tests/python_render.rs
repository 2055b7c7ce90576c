//! The Python bindings follow the schema: a field added to a small hand-written schema shows up in
//! the rendered models, decoder and encoder with no template edit; optional fields keep their
//! shapes; a schema whose roles lack one the runtime needs is a clear error naming the role.

use rrq_codegen::ir::{FieldRole, ROLE_KEY};
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

/// A small protocol: a tagged union of one struct, no `x-rrq`.
fn small(extra: &[(&str, Value, bool, bool)]) -> Value {
    let mut properties = serde_json::Map::new();
    properties.insert("name".into(), json!({"type": "string", "description": "What it is called."}));
    let mut required = vec![json!("name")];
    let mut written = vec![json!("name")];
    for (name, schema, is_required, always_written) in extra {
        properties.insert(name.to_string(), schema.clone());
        if *is_required {
            required.push(json!(name));
        }
        if *always_written {
            written.push(json!(name));
        }
    }
    json!({
        "title": "Note",
        "oneOf": [{"type": "object", "properties": {"kind": {"type": "string", "const": "item"},
            "body": {"$ref": "#/$defs/Item"}}, "required": ["kind", "body"]}],
        "$defs": {"Item": {"type": "object", "description": "An item.", "properties": properties,
            "required": required, "x-rrq-always-written": written}}
    })
}

#[test]
fn an_added_field_changes_models_decoder_and_encoder() {
    let base = render(&small(&[])).unwrap();
    let field = json!({
        "description": "Scheduling priority, 0 (lowest) to 255.",
        "type": "integer", "format": "uint8", "minimum": 0, "maximum": 255
    });
    let changed = render(&small(&[("priority", field, true, true)])).unwrap();

    let (before, after) = (file(&base, "python/note/_models.py"), file(&changed, "python/note/_models.py"));
    assert!(!before.contains("priority"));
    assert!(after.contains("    priority: int\n    \"\"\"Scheduling priority, 0 (lowest) to 255.\"\"\"\n"), "{after}");

    let codec = file(&changed, "python/note/_codec.py");
    assert!(codec.contains("g(\"priority\")"), "decoder reads the field");
    assert!(codec.contains("<= 255"), "decoder checks the bounds");
    assert!(codec.contains(".priority = "), "decoder sets the field");
    assert!(codec.contains(",\"priority\":{_enc_int(v.priority, 0, 255)}"), "encoder writes it last, in declaration order");
    assert!(
        codec.contains("(\"priority\", \"priority\", (\"int\", \"integer in 0..=255\", 0, 255), True, False, True, \"integer in 0..=255\"),"),
        "error tables know it, with the shared expectation text"
    );
    let fast = file(&changed, "python/note/_fast.py");
    assert!(fast.contains("        priority: Annotated[int, Meta(ge=0, le=255)]\n"), "the accelerated decoder knows it: {fast}");
    // Every other file is the same except for the provenance (schema hash).
    for f in &base {
        let path = f.path.to_str().unwrap();
        if path.ends_with("_models.py") || path.ends_with("_codec.py") || path.ends_with("_fast.py") || path.ends_with("schema.json") {
            continue;
        }
        let strip = |text: &str| text.lines().filter(|l| !l.contains("schema sha256")).collect::<Vec<_>>().join("\n");
        assert_eq!(strip(file(&base, path)), strip(file(&changed, path)), "{path}");
    }
}

#[test]
fn optional_fields_keep_their_shapes() {
    let files = render(&small(&[
        ("label", json!({"description": "A label.", "type": ["string", "null"]}), false, true),
        ("note", json!({"description": "A note.", "type": ["string", "null"]}), false, false),
        ("class", json!({"description": "A keyword.", "type": "boolean", "default": false}), false, true),
    ]))
    .unwrap();
    let models = file(&files, "python/note/_models.py");
    assert!(models.contains("    label: Nullable[str] = None\n"), "{models}");
    assert!(models.contains("    note: Omittable[str] = None\n"), "{models}");
    assert!(models.contains("    class_: bool = False\n"), "{models}");
    let codec = file(&files, "python/note/_codec.py");
    assert!(codec.contains("p('\"note\":' + _enc_str("), "an omittable field is written only when present: {codec}");
}

#[test]
fn a_schema_without_a_role_the_runtime_needs_is_a_clear_error() {
    for builtin in rrq_codegen::schema::builtins() {
        let mut schema = builtin.schema();
        for def in schema["$defs"].as_object_mut().unwrap().values_mut() {
            for property in def.get_mut("properties").and_then(Value::as_object_mut).into_iter().flat_map(|p| p.values_mut()) {
                if property.get(ROLE_KEY).and_then(Value::as_str) == Some(FieldRole::FunctionName.as_str()) {
                    property.as_object_mut().unwrap().remove(ROLE_KEY);
                }
            }
        }
        let error = format!("{:#}", render(&schema).unwrap_err());
        assert!(error.contains("needs a field with the role `function-name`"), "protocol {}: {error}", builtin.version);
    }
}
