//! Rename probe (issue #12): the golden cases and the rendered packages follow the schema, not
//! field names written in the generator. The real latest schema is changed the way a protocol
//! change would change it: the request's function-name field renamed (keeping its role), its
//! input field removed. There is no Rust reference for such a schema, so the probe looks at
//! what the IR-only case builder makes of it (`golden::build`) and renders the packages from it
//! in memory.

use rrq_codegen::{golden, ir, lang::Lang, render_all, schema, Options, Source};
use serde_json::{Map, Value};

const ROLE: &str = ir::ROLE_KEY;
const NEW_NAME: &str = "handler";

fn latest() -> Value {
    schema::builtins().last().expect("a built-in version").schema()
}

/// The name of the type held by the root variant with the role `role`.
fn variant_type(schema: &Value, role: &str) -> String {
    let variant = schema["oneOf"]
        .as_array()
        .expect("the root is a oneOf")
        .iter()
        .find(|v| v[ROLE] == role)
        .unwrap_or_else(|| panic!("no variant with the role {role}"));
    let target = variant["properties"]
        .as_object()
        .unwrap()
        .values()
        .find_map(|p| p.get("$ref").and_then(Value::as_str))
        .expect("a content reference");
    target.trim_start_matches("#/$defs/").to_string()
}

/// The name of the property of `$defs/<def>` with the role `role`.
fn property_with_role(schema: &Value, def: &str, role: &str) -> String {
    schema["$defs"][def]["properties"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, p)| p[ROLE] == role)
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| panic!("{def} has no field with the role {role}"))
}

/// Renames a property of `$defs/<def>` in place (same position, same schema and role), in the
/// `required` and `x-rrq-always-written` lists too.
fn rename_property(schema: &mut Value, def: &str, from: &str, to: &str) {
    let def = &mut schema["$defs"][def];
    let properties = def["properties"].as_object_mut().unwrap();
    let renamed: Map<String, Value> =
        std::mem::take(properties).into_iter().map(|(k, v)| (if k == from { to.to_string() } else { k }, v)).collect();
    *properties = renamed;
    for list in ["required", "x-rrq-always-written"] {
        if let Some(Value::Array(names)) = def.get_mut(list) {
            for name in names.iter_mut().filter(|n| *n == from) {
                *name = Value::from(to);
            }
        }
    }
}

/// Removes a property of `$defs/<def>`, and its name from the lists that name properties.
fn remove_property(schema: &mut Value, def: &str, name: &str) {
    let def = &mut schema["$defs"][def];
    def["properties"].as_object_mut().unwrap().shift_remove(name);
    for list in ["required", "x-rrq-always-written"] {
        if let Some(Value::Array(names)) = def.get_mut(list) {
            names.retain(|n| n != name);
        }
    }
}

/// The latest schema with the request's function-name field renamed to `handler`; the old name.
fn renamed() -> (Value, String) {
    let mut schema = latest();
    let request = variant_type(&schema, "request");
    let old = property_with_role(&schema, &request, "function-name");
    rename_property(&mut schema, &request, &old, NEW_NAME);
    (schema, old)
}

/// Whether the error path `path` has a segment named `name`.
fn has_segment(path: &str, name: &str) -> bool {
    path.split(['.', '[', ']']).any(|segment| segment == name)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn golden_cases_follow_a_renamed_field() {
    let (schema, old) = renamed();
    let ir = ir::lower(&schema).unwrap();
    let groups = golden::build(&ir).unwrap_or_else(|e| panic!("the cases build for the renamed schema: {e:#}"));
    let cases: Vec<(&str, &golden::Case)> = groups.iter().flat_map(|g| g.cases.iter().map(move |c| (g.name, c))).collect();
    assert!(cases.len() >= 500, "only {} cases", cases.len());

    // Every path a case tests is computed from the IR: the new name is there, the old is not.
    let paths: Vec<String> = cases.iter().flat_map(|(_, c)| c.paths()).collect();
    let new_paths: Vec<&String> = paths.iter().filter(|p| has_segment(p, NEW_NAME)).collect();
    assert!(new_paths.len() >= 3, "cases testing the renamed field: {new_paths:?}");
    let old_paths: Vec<&String> = paths.iter().filter(|p| has_segment(p, &old)).collect();
    assert!(old_paths.is_empty(), "cases still testing `{old}`: {old_paths:?}");

    // And so is every frame: no frame has a key named the old way, many the new way.
    let quoted_old = format!("\"{old}\"");
    let quoted_new = format!("\"{NEW_NAME}\"");
    let with_old: Vec<String> =
        cases.iter().filter(|(_, c)| contains(&c.frame, quoted_old.as_bytes())).map(|(g, c)| format!("{g}/{}", c.slug)).collect();
    assert!(with_old.is_empty(), "frames that still spell `{old}`: {with_old:?}");
    let with_new = cases.iter().filter(|(_, c)| contains(&c.frame, quoted_new.as_bytes())).count();
    assert!(with_new >= 100, "only {with_new} frames carry the renamed field");

    // The per-field cases exist under the new name.
    let request_tag = schema["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v[ROLE] == "request")
        .and_then(|v| v["properties"].as_object().unwrap().values().find_map(|p| p.get("const")))
        .and_then(Value::as_str)
        .unwrap()
        .to_string();
    for name in [
        format!("missing/{request_tag}-{NEW_NAME}"),
        format!("types/{request_tag}-{NEW_NAME}-null"),
        format!("types/{request_tag}-{NEW_NAME}-wrong-type"),
    ] {
        assert!(cases.iter().any(|(g, c)| format!("{g}/{}", c.slug) == name), "no case {name}");
    }
}

#[test]
fn a_removed_role_bearing_field_makes_generation_fail_loudly() {
    let (mut schema, _) = renamed();
    let request = variant_type(&schema, "request");
    let input = property_with_role(&schema, &request, "input");
    remove_property(&mut schema, &request, &input);
    let ir = ir::lower(&schema).unwrap();
    let err = format!("{:#}", golden::build(&ir).expect_err("no golden corpus without the input field"));
    assert!(err.contains("`input`") && err.contains("has no target"), "{err}");
}

#[test]
fn packages_render_for_the_renamed_schema() {
    let (schema, old) = renamed();
    let mut removed = schema.clone();
    let request = variant_type(&removed, "request");
    let input = property_with_role(&removed, &request, "input");
    remove_property(&mut removed, &request, &input);
    for (what, schema) in [("renamed", &schema), ("renamed, input removed", &removed)] {
        let bytes = schema::to_file_bytes(schema);
        let rendered = render_all(&Source::Files(vec![bytes]), &Lang::ALL, &Options::default())
            .unwrap_or_else(|e| panic!("rendering the {what} schema: {e:#}"));
        let paths: Vec<String> = rendered.files.iter().map(|f| f.path.display().to_string()).collect();
        assert!(paths.iter().any(|p| p.starts_with("python/")), "{what}: {paths:?}");
        assert!(paths.iter().any(|p| p.starts_with("typescript/")), "{what}: {paths:?}");
        // A schema other than the built-in ones gets no corpus: nothing judges it.
        assert!(!paths.iter().any(|p| p.contains("golden/")), "{what}: {paths:?}");
        // The field's new name reaches the code.
        let code = |suffix: &str| {
            rendered
                .files
                .iter()
                .filter(|f| f.path.to_string_lossy().ends_with(suffix))
                .map(|f| String::from_utf8_lossy(&f.contents).into_owned())
                .collect::<String>()
        };
        for suffix in [".py", ".ts"] {
            let text = code(suffix);
            assert!(text.contains(NEW_NAME), "{what}: no {suffix} file mentions `{NEW_NAME}`");
            let quoted = format!("\"{old}\"");
            assert!(!text.contains(&quoted), "{what}: a {suffix} file still spells {quoted}");
        }
    }
}
