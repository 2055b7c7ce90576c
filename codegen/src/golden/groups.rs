//! The hand-written case families, one function per group. Each family picks its targets in
//! the IR by type and role ([`super::targets`]) and builds its inputs from the IR's base
//! messages ([`super::fixtures`]); what the reference makes of them is recorded by running it.
//! Every case records the value it tests and where ([`super::Expect`]).
//!
//! A family over a kind of field (every timestamp, every map of any, …) has as many cases as
//! the schema has such fields, and none when it has none, unless that kind is the family's
//! only target: then generation fails naming the kind. A case about a runner role (the
//! outcome a runner writes, a request from another protocol version) fails generation when
//! the schema lacks the role.

use super::fixtures::{text, with, without, Flavor, Path};
use super::targets::{need, unique_slugs, AnyShape, AnySite, Ctx, Kind, Target, ANY_KIND};
use super::{Case, Expected};
use crate::ir::{FieldRole, Type, ValueRole, Variant, VariantRole};
use anyhow::{anyhow, ensure, Result};
use serde_json::{json, Map, Value};

fn v(slug: &str, description: &str, value: &Value) -> Case {
    Case::value(slug, description, value)
}

fn b(slug: &str, description: &str, body: impl AsRef<[u8]>) -> Case {
    Case::body(slug, description, body)
}

/// The targets with slugs unique among them.
fn named<'a>(targets: Vec<Target<'a>>) -> Vec<(String, Target<'a>)> {
    unique_slugs(&targets).into_iter().zip(targets).collect()
}

/// The any-JSON sites with slugs unique among them.
fn named_sites<'a>(sites: Vec<AnySite<'a>>) -> Vec<(String, AnySite<'a>)> {
    let targets: Vec<Target> = sites.iter().map(|s| s.target.clone()).collect();
    unique_slugs(&targets).into_iter().zip(sites).collect()
}

/// A case setting the field `t` of `base` to `value` (which it tests there).
fn set(ctx: &Ctx, t: &Target, base: &Value, slug: &str, description: &str, value: Value) -> Result<Case> {
    let message = ctx.fx.set(t.variant, base.clone(), &t.path, value.clone())?;
    Ok(v(slug, description, &message).holds_json(&t.path, value))
}

/// A case whose field `t` is the JSON text `raw` (which it tests there).
fn put(ctx: &Ctx, t: &Target, base: &Value, slug: &str, description: &str, raw: &str) -> Result<Case> {
    Ok(b(slug, description, ctx.fx.splice(t.variant, base, &t.path, raw)?).holds_text(&t.path, raw))
}

/// The text of `base` with the bytes `raw` as the value of the field `t`.
fn put_bytes(ctx: &Ctx, t: &Target, base: &Value, raw: &[u8]) -> Result<Vec<u8>> {
    const HOLE: &str = "\u{1}golden-bytes\u{1}";
    let text = ctx.fx.splice(t.variant, base, &t.path, HOLE)?;
    let (before, after) = text.split_once(HOLE).expect("the hole is there");
    Ok([before.as_bytes(), raw, after.as_bytes()].concat())
}

/// `{"<tag>":"<tag value>","<content>":<payload>}` with the payload's bytes as given.
fn envelope_bytes(ctx: &Ctx, variant: &Variant, payload: &[u8]) -> Vec<u8> {
    let head = format!("{{{}:{},{}:", text(&json!(ctx.root.tag)), text(&json!(variant.tag_value)), text(&json!(ctx.root.content)));
    [head.as_bytes(), payload, b"}"].concat()
}

/// A key that is none of `taken`: `wanted`, else `wanted` with `_` appended until it is free.
fn free_key(wanted: &str, taken: &[&str]) -> String {
    let mut key = wanted.to_string();
    while taken.contains(&key.as_str()) {
        key.push('_');
    }
    key
}

/// `key` with its character at `index` written as a `\u` escape.
fn escape_char(key: &str, index: usize) -> String {
    let mut out = String::from("\"");
    for (i, c) in key.chars().enumerate() {
        if i == index {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push_str(text(&json!(c.to_string())).trim_matches('"'));
        }
    }
    out.push('"');
    out
}

/// The character of a field name to escape: its first `_`, else its first character.
fn escape_index(key: &str) -> usize {
    key.chars().position(|c| c == '_').unwrap_or(0)
}

/// A JSON value of the wrong type for `ty` (none for any JSON).
fn wrong(ctx: &Ctx, ty: &Type) -> Option<Value> {
    Some(match ty {
        Type::Bool => json!("yes"),
        Type::String => json!(1),
        Type::Integer { .. } => json!("1"),
        Type::Float => json!("1.5"),
        Type::Timestamp => json!(1714564800),
        Type::Any => return None,
        Type::Array { .. } => json!({}),
        Type::Map { .. } => json!([]),
        Type::Named { .. } if ctx.is_struct(ty) => json!(true),
        Type::Named { .. } => json!(1),
    })
}

/// The smallest message's minimal form, with its string field written as `j` (the short
/// message the envelope, duplicate and frame cases are written around).
fn short<'a>(ctx: &Ctx<'a>) -> Result<(Target<'a>, Value)> {
    let site = ctx.string_site("the envelope, duplicate and frame cases")?;
    let message = ctx.fx.set(site.variant, ctx.fx.minimal(site.variant)?, &site.path, json!("j"))?;
    Ok((site, message))
}

/// The fields of `variant`'s content (not nested) for which `pred` holds, in declaration order.
fn top_fields<'a>(ctx: &Ctx<'a>, variant: &Variant, pred: impl Fn(&Target) -> bool) -> Vec<Target<'a>> {
    ctx.targets.iter().filter(|t| std::ptr::eq(t.variant, variant) && t.top_level() && pred(t)).cloned().collect()
}

/// A value of every JSON kind, for fields of any JSON: `(slug, JSON text, what it is)`.
const JSON_KINDS: [(&str, &str, &str); 9] = [
    ("string", r#""done""#, "a string"),
    ("integer", "42", "an integer"),
    ("float", "3.25", "a float"),
    ("true", "true", "true"),
    ("false", "false", "false"),
    ("empty-string", r#""""#, "the empty string"),
    ("empty-array", "[]", "[]"),
    ("empty-object", "{}", "{}"),
    ("nested", r#"{"rows":[{"id":1,"tags":[]},{"id":2,"tags":["x",{"deep":[null,false]}]}],"count":2}"#, "nested arrays and objects"),
];

/// Every message type, minimal and maximal, and the common shapes of each.
pub fn messages(ctx: &Ctx) -> Result<Vec<Case>> {
    let mut cases = Vec::new();
    for variant in &ctx.root.variants {
        let tag = &variant.tag_value;
        let required: Vec<String> =
            ctx.fx.payload(variant)?.fields.iter().filter(|f| f.required).map(|f| format!("`{}`", f.name)).collect();
        cases.push(
            v(&format!("{tag}-minimal"), &format!("a {tag} with only its required fields ({})", required.join(", ")), &ctx.fx.minimal(variant)?)
                .whole(),
        );
        cases.push(v(&format!("{tag}-maximal"), &format!("a {tag} with every field holding a value"), &ctx.fx.maximal(variant)?).whole());
    }
    cases.extend(outcomes(ctx)?);
    for (slug, site) in named_sites(ctx.any_sites_of(AnyShape::Value)) {
        let t = &site.target;
        let base = ctx.base(t, true)?;
        for (kind, raw, what) in JSON_KINDS {
            cases.push(put(ctx, t, &base, &format!("{slug}-{kind}"), &format!("{} (any JSON) given {what}", t.shown()), raw)?);
        }
    }

    let why = "the case messages/<request>-other-protocol-version";
    let request = ctx.variant(VariantRole::Request, why)?;
    let version = ctx.role(request, &[FieldRole::ProtocolVersion], why)?;
    let other = ctx.fx.other_protocol_version()?;
    cases.push(set(
        ctx,
        &version,
        &ctx.fx.minimal(request)?,
        &format!("{}-other-protocol-version", request.tag_value),
        &format!(
            "a {} from protocol version {other}, not {} (decoding does not check {}; a runner answers unsupported_protocol_version)",
            request.tag_value,
            ctx.fx.version()?,
            version.shown()
        ),
        json!(other),
    )?);

    // Every string field without a default empty, every bounded integer at its minimum.
    let first = ctx.first();
    let mut message = ctx.fx.minimal(first)?;
    let mut expects = Vec::new();
    for t in ctx.targets.iter().filter(|t| std::ptr::eq(t.variant, first) && t.field.default.is_none()) {
        let value = match &t.field.ty {
            Type::String => json!(""),
            Type::Integer { min: Some(min), .. } => super::fixtures::integer(*min).unwrap_or(json!(0)),
            _ => continue,
        };
        if super::fixtures::get(&message, &t.path[..t.path.len() - 1]).is_some_and(Value::is_object) {
            message = ctx.fx.set(first, message, &t.path, value.clone())?;
            expects.push((t.path.clone(), value));
        }
    }
    let mut case = v(
        &format!("{}-empty-strings", first.tag_value),
        &format!("a {} whose string fields are all empty (and whose integers are at their minimum)", first.tag_value),
        &message,
    );
    for (path, value) in expects {
        case = case.holds_json(&path, value);
    }
    cases.push(case);

    let why = "the case messages/<cancel>-by-job";
    let cancel = ctx.variant(VariantRole::Cancel, why)?;
    let job = ctx.role(cancel, &[FieldRole::JobId], why)?;
    let by_request = ctx.role(cancel, &[FieldRole::RequestId], why)?;
    let mut defaults = Vec::new();
    let payload = ctx.fx.pick(ctx.fx.payload(cancel)?, |f| {
        Ok(if f.name == job.field.name {
            Some(json!("job-9"))
        } else if f.required {
            Some(ctx.fx.value(f, Flavor::Min)?)
        } else if let Some(default) = f.default.as_ref().filter(|d| !d.is_null()) {
            defaults.push(format!("`{}`", f.name));
            Some(default.clone())
        } else {
            None
        })
    })?;
    let message = ctx.fx.envelope(cancel, payload);
    cases.push(
        v(
            &format!("{}-by-job", cancel.tag_value),
            &format!(
                "a {} of a job: without {}, its defaults written out ({})",
                cancel.tag_value,
                by_request.shown(),
                defaults.join(", ")
            ),
            &message,
        )
        .holds_json(&job.path, json!("job-9"))
        .holds_json(&by_request.path, Value::Null),
    );
    Ok(cases)
}

/// The outcomes a runner writes: success (an echo of the request's input), the errors it
/// reports itself, timeout, retry, an error with every field.
fn outcomes(ctx: &Ctx) -> Result<Vec<Case>> {
    let why = "the outcome cases of messages/";
    let response = ctx.variant(VariantRole::Response, why)?;
    let request = ctx.variant(VariantRole::Request, why)?;
    let status = ctx.role(response, &[FieldRole::Status], why)?;
    let result = ctx.role(response, &[FieldRole::Result], why)?;
    let error = ctx.role(response, &[FieldRole::Error], why)?;
    let message = ctx.role(response, &[FieldRole::Error, FieldRole::Message], why)?;
    let kind = ctx.role(response, &[FieldRole::Error, FieldRole::ErrorType], why)?;
    let delay = ctx.with_role(response, FieldRole::RetryAfter).into_iter().next();
    let inputs = ctx.with_role(request, FieldRole::Input);
    need(
        &format!("messages/{}-success (the echo of the {}'s input)", response.tag_value, request.tag_value),
        &[Kind { name: "field with the role `input` (x-rrq-role) in the request", targets: inputs.len() }],
    )?;
    let error_type = |name: &str| -> Result<Value> {
        let known = &ctx.ir.meta.error_types;
        ensure!(
            known.is_empty() || known.iter().any(|t| t.value == name),
            "the outcome cases use the error type `{name}`, which x-rrq.error_types does not list"
        );
        Ok(json!(name))
    };
    let outcome = |role: ValueRole, fields: Vec<(&Target, Value)>| -> Result<Case> {
        let value = json!(ctx.status_value(&status, role, why)?);
        let mut m = ctx.fx.set(response, ctx.fx.typical(response)?, &status.path, value.clone())?;
        let mut expects = vec![(status.path.clone(), value)];
        for (t, value) in fields {
            m = ctx.fx.set(response, m, &t.path, value.clone())?;
            expects.push((t.path.clone(), value));
        }
        let mut case = v("", "", &m);
        for (path, value) in expects {
            case = case.holds_json(&path, value);
        }
        Ok(case)
    };
    let named = |case: Case, slug: &str, description: String| Case { slug: format!("{}-{slug}", response.tag_value), description, ..case };

    let mut echo = Map::new();
    for input in &inputs {
        let value = match &input.field.ty {
            Type::Array { .. } => json!([1, 2]),
            Type::Map { .. } => json!({"x": "y"}),
            _ => ctx.fx.value(input.field, Flavor::Min)?,
        };
        echo.insert(input.field.name.clone(), value);
    }
    let every: Vec<String> = ctx.fx.strukt(super::targets::named(&error.field.ty))?.fields.iter().filter(|f| f.role.is_none()).map(|f| f.name.replace('_', "-")).collect();
    let mut full = ctx.fx.object(ctx.fx.strukt(super::targets::named(&error.field.ty))?, Flavor::Max)?;
    full = with(with(full, &[&message.field.name], json!("bad input")), &[&kind.field.name], json!("ValueError"));
    Ok(vec![
        named(
            outcome(ValueRole::Success, vec![(&result, Value::Object(echo))])?,
            "success",
            format!("a success outcome as a runner sends it ({} echoing the {}'s input)", result.shown(), request.tag_value),
        ),
        named(
            outcome(ValueRole::Error, vec![(&message, json!("no handler registered for 'nope'")), (&kind, error_type("handler_not_found")?)])?,
            "handler-not-found",
            format!("the error outcome for an unknown {}", ctx.role(request, &[FieldRole::FunctionName], why)?.shown()),
        ),
        named(
            outcome(ValueRole::Timeout, vec![(&message, json!("deadline exceeded")), (&kind, error_type("timeout")?)])?,
            "timeout",
            "a timeout outcome".into(),
        ),
        named(
            outcome(ValueRole::Error, vec![(&message, json!("cancelled")), (&kind, error_type("cancelled")?)])?,
            "cancelled",
            "an error outcome of type cancelled".into(),
        ),
        named(
            outcome(ValueRole::Retry, vec![(&message, json!("later"))])?,
            "retry-without-delay",
            match delay {
                Some(delay) => format!("a retry outcome without {}", delay.shown()),
                None => "a retry outcome".into(),
            },
        ),
        named(
            outcome(ValueRole::Error, vec![(&error, full)])?,
            &format!("{}-with-{}", error.slug(), if every.is_empty() { "every-field".to_string() } else { every.join("-and-") }),
            format!("an error with every field of {}", super::targets::named(&error.field.ty)),
        ),
    ])
}

/// A struct's fields written out: required ones with their minimal values (structs
/// recursively), nullable ones as `null`, and, when `defaults`, defaulted ones as their default.
fn written_out(ctx: &Ctx, st: &crate::ir::Struct, defaults: bool) -> Result<Value> {
    ctx.fx.pick(st, |f| {
        Ok(if f.required {
            Some(match &f.ty {
                Type::Named { name } if ctx.is_struct(&f.ty) => written_out(ctx, ctx.fx.strukt(name)?, defaults)?,
                _ => ctx.fx.value(f, Flavor::Min)?,
            })
        } else if f.nullable {
            Some(Value::Null)
        } else if defaults {
            f.default.clone()
        } else {
            None
        })
    })
}

/// Defaults and optional fields: absent, `null`, or written out (the systematic cases add one
/// per field).
pub fn defaults(ctx: &Ctx) -> Result<Vec<Case>> {
    let mut cases = Vec::new();
    for variant in &ctx.root.variants {
        let st = ctx.fx.payload(variant)?;
        let nulls = ctx.fx.envelope(variant, written_out(ctx, st, false)?);
        let all = ctx.fx.envelope(variant, written_out(ctx, st, true)?);
        let tag = &variant.tag_value;
        cases.push(v(&format!("{tag}-every-optional-null"), &format!("a {tag} whose nullable fields are all null (defaulted ones absent)"), &nulls).whole());
        if all != nulls {
            cases.push(v(&format!("{tag}-defaults-written-out"), &format!("a {tag} that writes every default and every null explicitly"), &all).whole());
        }
    }
    // Nested structs that may be absent, present with their nullable fields null.
    for (slug, t) in named(ctx.fields_where(|f| !f.required && ctx.is_struct(&f.ty))) {
        let st = ctx.fx.strukt(super::targets::named(&t.field.ty))?;
        let base = ctx.base(&t, false)?;
        cases.push(set(ctx, &t, &base, &format!("{slug}-every-optional-null"), &format!("{} whose optional fields are all null", t.shown()), written_out(ctx, st, false)?)?);
    }
    for (slug, t) in named(ctx.fields_where(|f| f.nullable && matches!(f.ty, Type::Map { .. } | Type::Array { .. }))) {
        let base = ctx.base(&t, false)?;
        let empty = if matches!(t.field.ty, Type::Map { .. }) { json!({}) } else { json!([]) };
        cases.push(set(ctx, &t, &base, &format!("{slug}-empty"), &format!("{} given an empty {} (not the same as null)", t.shown(), if empty.is_object() { "object" } else { "array" }), empty)?);
    }
    for (slug, t) in named(ctx.fields_where(|f| f.nullable && f.ty == Type::Any)) {
        let base = ctx.base(&t, false)?;
        cases.push(set(ctx, &t, &base, &format!("{slug}-json-null"), &format!("{} (any JSON) given the JSON value null", t.shown()), Value::Null)?);
    }
    for (slug, t) in named(ctx.fields_where(|f| f.ty == Type::Bool && f.default.is_some())) {
        let default = t.field.default.clone().expect("filtered");
        let base = ctx.fx.minimal(t.variant)?;
        cases.push(set(ctx, &t, &base, &format!("{slug}-{default}-explicit"), &format!("{} written as {default}", t.shown()), default)?);
    }
    for variant in &ctx.root.variants {
        let containers = top_fields(ctx, variant, |t| {
            matches!(t.field.ty, Type::Map { .. } | Type::Array { .. })
                && t.field.default.as_ref().is_some_and(|d| d == &json!([]) || d == &json!({}))
        });
        if containers.is_empty() {
            continue;
        }
        let mut message = ctx.fx.minimal(variant)?;
        let mut expects = Vec::new();
        for t in &containers {
            let default = t.field.default.clone().expect("filtered");
            message = ctx.fx.set(variant, message, &t.path, default.clone())?;
            expects.push((t.path.clone(), default));
        }
        let names: Vec<String> = containers.iter().map(|t| t.slug()).collect();
        let shown: Vec<String> = containers.iter().map(|t| format!("{} as {}", t.shown(), text(t.field.default.as_ref().expect("filtered")))).collect();
        let mut case = v(&format!("{}-empty-explicit", names.join("-")), &format!("{} written out", shown.join(" and ")), &message);
        for (path, value) in expects {
            case = case.holds_json(&path, value);
        }
        cases.push(case);
    }
    Ok(cases)
}

/// JSON text with whitespace around every token (objects and arrays as `{ a , b }`).
fn spaced(value: &Value, depth: usize) -> String {
    match value {
        Value::Object(object) => {
            let entries: Vec<String> = object
                .iter()
                .enumerate()
                .map(|(i, (k, v))| format!("{} {}{}", text(&json!(k)), if depth == 0 && i == 0 { ":\t" } else { ": " }, spaced(v, depth + 1)))
                .collect();
            format!("{{ {} }}", entries.join(if depth == 0 { " ,\r\n " } else { " , " }))
        }
        Value::Array(items) => {
            format!("[ {} ]", items.iter().map(|v| spaced(v, depth + 1)).collect::<Vec<_>>().join(" , "))
        }
        other => text(other),
    }
}

/// Valid input that is not canonical: the canonical bytes differ from the input.
pub fn noncanonical(ctx: &Ctx) -> Result<Vec<Case>> {
    let first = ctx.first();
    let second = ctx.root.variants.get(1).unwrap_or(first);
    let smallest = ctx.smallest()?;
    let mut spaced_message = ctx.fx.minimal(smallest)?;
    for t in top_fields(ctx, smallest, |t| t.field.ty == Type::Bool) {
        spaced_message = ctx.fx.set(smallest, spaced_message, &t.path, json!(true))?;
    }
    let mut cases = vec![
        b(
            "pretty-printed",
            &format!("the maximal {} pretty-printed with two-space indentation", first.tag_value),
            serde_json::to_string_pretty(&ctx.fx.maximal(first)?)?,
        )
        .whole(),
        b("whitespace-everywhere", "spaces, tabs, CR and LF around every token", format!(" \t\r\n{} ", spaced(&spaced_message, 0))).whole(),
        v(
            "keys-reversed",
            &format!("the maximal {} with the keys of every object in reverse order", first.tag_value),
            &super::reorder(&ctx.fx.maximal(first)?, |e| e.reverse()),
        )
        .whole(),
        v(
            "keys-sorted",
            &format!("the maximal {} with the keys of every object sorted", second.tag_value),
            &super::reorder(&ctx.fx.maximal(second)?, |e| e.sort_by(|a, b| a.0.cmp(b.0))),
        )
        .whole(),
    ];
    let (tag, content) = (&ctx.root.tag, &ctx.root.content);
    for variant in &ctx.root.variants {
        let payload = ctx.fx.maximal(variant)?[content].clone();
        let mut out = Map::new();
        out.insert(content.clone(), payload);
        out.insert(tag.clone(), json!(variant.tag_value));
        cases.push(
            v(
                &format!("{}-type-after-payload", variant.tag_value),
                &format!("a {} whose `{tag}` comes after `{content}`", variant.tag_value),
                &Value::Object(out),
            )
            .whole(),
        );
    }

    // An unknown field in every struct: all at once in the first message, one by one in the
    // nested structs of the others (and in the content of those without nested structs).
    let unknown = |st: &crate::ir::Struct, wanted: &str| {
        free_key(wanted, &st.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>())
    };
    let mut message = ctx.fx.maximal(first)?;
    message = with(message, &[free_key("id", &[tag, content])], json!(17));
    let first_st = ctx.fx.payload(first)?;
    message = with(message, &[content.clone(), unknown(first_st, "priority")], json!({"level": "high", "weights": [1, 2.5, null]}));
    for t in ctx.targets.iter().filter(|t| std::ptr::eq(t.variant, first) && ctx.is_struct(&t.field.ty)) {
        let st = ctx.fx.strukt(super::targets::named(&t.field.ty))?;
        let mut path = t.path.clone();
        path.push(unknown(st, "retries_left"));
        message = with(message, &path, json!(4));
    }
    cases.push(v("unknown-fields-everywhere", "unknown fields in the envelope, the content and every nested struct (ignored)", &message).whole());
    for variant in ctx.root.variants.iter().filter(|v| !std::ptr::eq(*v, first)) {
        let nested: Vec<&Target> = ctx.targets.iter().filter(|t| std::ptr::eq(t.variant, variant) && ctx.is_struct(&t.field.ty)).collect();
        if nested.is_empty() {
            let st = ctx.fx.payload(variant)?;
            let message = with(ctx.fx.minimal(variant)?, &[content.clone(), unknown(st, "reason")], json!("user asked"));
            cases.push(v(&format!("unknown-field-in-{}", variant.tag_value), &format!("an unknown field in a {} (ignored)", variant.tag_value), &message).whole());
        }
        for t in nested {
            let st = ctx.fx.strukt(super::targets::named(&t.field.ty))?;
            let mut path = t.path.clone();
            path.push(unknown(st, "stack"));
            let message = with(ctx.fx.maximal(variant)?, &path, json!(["frame 1", "frame 2"]));
            cases.push(v(&format!("unknown-field-in-{}", t.slug()), &format!("an unknown field in {} (ignored)", t.shown()), &message).whole());
        }
    }
    if !std::ptr::eq(second, first) {
        let second_st = ctx.fx.payload(second)?;
        if let Some(foreign) = first_st.fields.iter().find(|f| f.required && !second_st.fields.iter().any(|g| g.name == f.name)) {
            cases.push(
                v(
                    "unknown-field-named-like-another-type",
                    &format!("a {} carrying the {}'s field `{}` (ignored)", second.tag_value, first.tag_value, foreign.name),
                    &with(ctx.fx.minimal(second)?, &[content.clone(), foreign.name.clone()], json!(123)),
                )
                .whole(),
            );
        }
    }

    // Keys written with escapes.
    let small = ctx.fx.minimal(smallest)?;
    let payload = small[content].as_object().ok_or_else(|| anyhow!("a payload is an object"))?;
    let entries: Vec<String> = payload.iter().map(|(k, v)| format!("{}:{}", escape_char(k, escape_index(k)), text(v))).collect();
    let body = format!(
        "{{{}:{},{}:{{{}}}}}",
        escape_char(tag, 0),
        text(&json!(smallest.tag_value)),
        escape_char(content, 1.min(content.chars().count() - 1)),
        entries.join(",")
    );
    cases.push(b("escaped-keys", "keys written with \\u escapes", body).whole());

    let site = ctx.string_site("noncanonical/escaped-*")?;
    let base = ctx.fx.minimal(site.variant)?;
    for (slug, raw, what) in [
        ("escaped-ascii-value", r#""\u006a\u006f\u0062""#, "an ASCII value written with \\u escapes"),
        ("escaped-solidus", r#""a\/b\/c""#, "\\/ in a string"),
        ("escaped-non-ascii", r#""caf\u00e9 \u4e2d""#, "é and 中 written as \\u escapes"),
        ("escaped-uppercase-hex", r#""\u00C9\u00E9\u4E2D""#, "\\u escapes with upper-case hex digits"),
        ("escaped-astral-pair", r#""\ud83d\ude00""#, "an astral character written as an escaped surrogate pair"),
    ] {
        cases.push(put(ctx, &site, &base, slug, &format!("{what}, in {}", site.shown()), raw)?);
    }

    // Nullable fields written as null, in the first message with a nullable struct (holding
    // its own nulls) and with its first nullable field holding a value.
    if let Some(holder) = ctx.fields_where(|f| f.nullable && ctx.is_struct(&f.ty)).into_iter().next() {
        let variant = holder.variant;
        let coherent = ctx.base(&holder, false)?;
        let mut kept = None;
        let payload = ctx.fx.pick(ctx.fx.payload(variant)?, |f| {
            Ok(if f.name == holder.field.name {
                Some(written_out(ctx, ctx.fx.strukt(super::targets::named(&f.ty))?, false)?)
            } else if f.required {
                coherent[&ctx.root.content].get(&f.name).cloned()
            } else if !f.nullable {
                None
            } else if kept.is_none() && !ctx.is_struct(&f.ty) {
                kept = Some(format!("`{}`", f.name));
                Some(ctx.fx.value(f, Flavor::Min)?)
            } else {
                Some(Value::Null)
            })
        })?;
        cases.push(
            v(
                "optional-nulls-omitted",
                &format!(
                    "a {} with its nullable fields written as null ({} holding a value, {} holding nulls)",
                    variant.tag_value,
                    kept.unwrap_or_default(),
                    holder.shown()
                ),
                &ctx.fx.envelope(variant, payload),
            )
            .whole(),
        );
    }

    for (slug, t) in named(ctx.of_type(&Type::Float)) {
        let base = ctx.base(&t, true)?;
        cases.push(put(ctx, &t, &base, &format!("{slug}-integer"), &format!("{} written as the integer 3", t.shown()), "3")?);
    }
    let site = ctx.any_site("noncanonical/float-exponent-in-*", AnyShape::Item)?;
    let base = ctx.base(&site.target, false)?;
    let raws: Vec<String> = ["1.5e3", "2.50", "0.0250e2", "1E-1"].map(String::from).to_vec();
    cases.push(put(
        ctx,
        &site.target,
        &base,
        &format!("float-exponent-in-{}", site.target.slug()),
        &format!("floats with exponents and trailing zeros in {}", site.target.shown()),
        &site.wrap_many(&raws),
    )?);
    for (slug, site) in named_sites(ctx.any_sites_of(AnyShape::MapValue)) {
        let base = ctx.base(&site.target, false)?;
        cases.push(put(ctx, &site.target, &base, &format!("{slug}-unsorted"), &format!("{} keys in reverse order", site.target.shown()), r#"{"zeta":1,"mid":2,"alpha":3}"#)?);
    }
    cases.push(put(
        ctx,
        &site.target,
        &base,
        "nested-unsorted",
        &format!("objects nested in {} with unsorted keys", site.what()),
        &site.wrap(r#"{"b":{"d":1,"c":2},"a":[{"z":0,"y":[{"x":1,"w":2}]}]}"#),
    )?);

    // Every timestamp of a message written with an offset.
    let offsets = ["2024-05-01T14:00:00+02:00", "2024-05-01T07:05:00.5-05:00"];
    let timestamps = ctx.of_type(&Type::Timestamp);
    let mut first_group = true;
    for variant in &ctx.root.variants {
        let here: Vec<&Target> = timestamps.iter().filter(|t| std::ptr::eq(t.variant, variant)).collect();
        if here.is_empty() {
            continue;
        }
        let mut message = ctx.fx.minimal(variant)?;
        let mut expects = Vec::new();
        for (i, t) in here.iter().enumerate() {
            let ts = offsets[i % offsets.len()];
            message = ctx.fx.set(variant, message, &t.path, json!(ts))?;
            expects.push((t.path.clone(), ts));
        }
        let shown: Vec<String> = here.iter().map(|t| t.shown()).collect();
        let slug = if first_group { "timestamps-with-offsets".to_string() } else { format!("{}-timestamps-with-offsets", variant.tag_value) };
        first_group = false;
        let mut case = v(&slug, &format!("{} with non-UTC offsets", shown.join(" and ")), &message);
        for (path, ts) in expects {
            case = case.holds(&path, Expected::Instant(ts.to_string()));
        }
        cases.push(case);
    }
    Ok(cases)
}

/// Timestamps: what the strict grammar accepts and how it normalises, and what chrono would
/// have accepted but the grammar rejects; at every timestamp field.
pub fn timestamps(ctx: &Ctx) -> Result<Vec<Case>> {
    let accepted = [
        ("utc-z", "2024-05-01T12:00:00Z", "UTC with Z"),
        ("offset-plus", "2024-05-01T14:00:00+02:00", "a positive offset"),
        ("offset-minus-half-hour", "2024-05-01T06:30:00-05:30", "a negative offset with minutes"),
        ("offset-plus-zero", "2024-05-01T12:00:00+00:00", "+00:00"),
        ("offset-minus-zero", "2024-05-01T12:00:00-00:00", "-00:00"),
        ("offset-max-plus", "2024-05-01T12:00:00+23:59", "the largest positive offset"),
        ("offset-max-minus", "2024-05-01T12:00:00-23:59", "the largest negative offset"),
        ("offset-crosses-day", "2024-05-01T01:00:00+02:00", "an offset that moves the instant to the previous day"),
        ("offset-crosses-year", "2024-12-31T23:30:00-01:00", "an offset that moves the instant to the next year"),
        ("fraction-1", "2024-05-01T12:00:00.5Z", "1 fraction digit"),
        ("fraction-2", "2024-05-01T12:00:00.12Z", "2 fraction digits"),
        ("fraction-3", "2024-05-01T12:00:00.123Z", "3 fraction digits"),
        ("fraction-4", "2024-05-01T12:00:00.1234Z", "4 fraction digits"),
        ("fraction-5", "2024-05-01T12:00:00.12345Z", "5 fraction digits"),
        ("fraction-6", "2024-05-01T12:00:00.123456Z", "6 fraction digits"),
        ("fraction-7", "2024-05-01T12:00:00.1234567Z", "7 fraction digits"),
        ("fraction-8", "2024-05-01T12:00:00.12345678Z", "8 fraction digits"),
        ("fraction-9", "2024-05-01T12:00:00.123456789Z", "9 fraction digits (nanoseconds)"),
        ("fraction-zeros", "2024-05-01T12:00:00.000000000Z", "a fraction of nine zeros"),
        ("fraction-trailing-zeros", "2024-05-01T12:00:00.100Z", "a fraction with trailing zeros"),
        ("fraction-one-nanosecond", "2024-05-01T12:00:00.000000001Z", "one nanosecond"),
        ("fraction-microseconds-exact", "2024-05-01T12:00:00.000001000Z", "a nine-digit fraction that is whole microseconds"),
        ("fraction-max", "2024-05-01T12:00:00.999999999Z", "the largest fraction"),
        ("fraction-with-offset", "2024-05-01T14:00:00.000000001+02:00", "nanoseconds and an offset"),
        ("year-0001", "0001-01-01T00:00:00Z", "the first instant of year 1"),
        ("year-9999", "9999-12-31T23:59:59.999999999Z", "the last nanosecond of year 9999"),
        ("year-0001-negative-offset", "0001-01-01T00:00:00-01:00", "year 1 with an offset that stays in range"),
        ("year-9999-positive-offset", "9999-12-31T23:59:59+01:00", "year 9999 with an offset that stays in range"),
        ("leap-day", "2024-02-29T00:00:00Z", "29 February of a leap year"),
        ("leap-day-400", "2000-02-29T12:00:00Z", "29 February 2000 (divisible by 400)"),
        ("end-of-day", "2024-05-01T23:59:59Z", "23:59:59"),
    ];
    let rejected = [
        ("space-separator", "2024-05-01 12:00:00Z", "a space instead of T (chrono accepts it)"),
        ("lowercase-t", "2024-05-01t12:00:00Z", "a lower-case t (chrono accepts it)"),
        ("lowercase-z", "2024-05-01T12:00:00z", "a lower-case z"),
        ("offset-without-colon", "2024-05-01T14:00:00+0200", "+0200 without a colon (chrono accepts it)"),
        ("offset-hours-only", "2024-05-01T14:00:00+02", "+02 without minutes"),
        ("offset-with-seconds", "2024-05-01T14:00:00+02:00:00", "an offset with seconds"),
        ("offset-hour-24", "2024-05-01T12:00:00+24:00", "offset hour 24"),
        ("offset-minute-60", "2024-05-01T12:00:00+01:60", "offset minute 60"),
        ("leap-second-end-of-day", "2024-12-31T23:59:60Z", "second 60 at the end of a day"),
        ("leap-second-any-minute", "2024-05-01T12:30:60Z", "second 60 at an arbitrary minute (chrono accepts it)"),
        ("two-digit-year", "24-05-01T12:00:00Z", "a two-digit year (chrono reads year 0024)"),
        ("year-10000", "10000-01-01T00:00:00Z", "year 10000 (chrono accepts it)"),
        ("year-0000", "0000-01-01T00:00:00Z", "year 0"),
        ("negative-year", "-0001-01-01T00:00:00Z", "a negative year"),
        ("expanded-year", "+002024-05-01T12:00:00Z", "an expanded year with sign"),
        ("fraction-10", "2024-05-01T12:00:00.1234567891Z", "10 fraction digits (chrono truncates them)"),
        ("fraction-empty", "2024-05-01T12:00:00.Z", "a dot without digits"),
        ("fraction-comma", "2024-05-01T12:00:00,5Z", "a comma as the decimal sign"),
        ("out-of-range-after-utc-shift-low", "0001-01-01T00:00:00+00:01", "year 1 shifted before 0001-01-01T00:00:00Z"),
        ("out-of-range-after-utc-shift-high", "9999-12-31T23:59:59-00:01", "year 9999 shifted past its end"),
        ("february-29-non-leap", "2023-02-29T00:00:00Z", "29 February of a common year"),
        ("february-29-1900", "1900-02-29T00:00:00Z", "29 February 1900 (divisible by 100, not 400)"),
        ("april-31", "2024-04-31T00:00:00Z", "31 April"),
        ("month-13", "2024-13-01T00:00:00Z", "month 13"),
        ("month-00", "2024-00-01T00:00:00Z", "month 0"),
        ("day-00", "2024-05-00T00:00:00Z", "day 0"),
        ("day-32", "2024-05-32T00:00:00Z", "day 32"),
        ("hour-24", "2024-05-01T24:00:00Z", "hour 24"),
        ("minute-60", "2024-05-01T12:60:00Z", "minute 60"),
        ("no-offset", "2024-05-01T12:00:00", "no offset"),
        ("no-seconds", "2024-05-01T12:00Z", "no seconds"),
        ("date-only", "2024-05-01", "a date without a time"),
        ("single-digit-month", "2024-5-01T12:00:00Z", "a one-digit month"),
        ("utc-word", "2024-05-01T12:00:00UTC", "UTC spelled out"),
        ("zone-suffix", "2024-05-01T12:00:00Z[Europe/Paris]", "an RFC 9557 zone suffix"),
        ("leading-space", " 2024-05-01T12:00:00Z", "a leading space"),
        ("trailing-space", "2024-05-01T12:00:00Z ", "a trailing space"),
        ("fullwidth-digits", "２０２４-05-01T12:00:00Z", "full-width digits in the year"),
        ("empty", "", "the empty string"),
        ("unix-seconds-string", "1714564800", "Unix seconds in a string"),
    ];
    let targets = ctx.of_type(&Type::Timestamp);
    need("timestamps", &[Kind { name: "timestamp field", targets: targets.len() }])?;
    let mut cases = Vec::new();
    for (slug, t) in named(targets) {
        let base = ctx.base(&t, false)?;
        for (name, ts, what) in accepted.iter().chain(&rejected) {
            let message = ctx.fx.set(t.variant, base.clone(), &t.path, json!(ts))?;
            cases.push(
                v(&format!("{slug}-{name}"), &format!("{} {ts:?}: {what}", t.shown()), &message).holds(&t.path, Expected::Instant(ts.to_string())),
            );
        }
        cases.push(set(ctx, &t, &base, &format!("{slug}-object"), &format!("{} given an object", t.shown()), json!({"secs": 1}))?);
    }
    Ok(cases)
}

/// Strings: non-ASCII, astral, control characters, separators, escapes and surrogates.
pub fn strings(ctx: &Ctx) -> Result<Vec<Case>> {
    let site = ctx.string_site("strings")?;
    let base = ctx.fx.minimal(site.variant)?;
    let at = format!("{} of a {}", site.shown(), site.variant.tag_value);
    let s = |slug: &str, what: &str, raw: &str| put(ctx, &site, &base, slug, &format!("{what}, in {at}"), raw);
    let mut cases = vec![
        s("non-ascii-raw", "Latin, Greek, CJK and Arabic written raw", "\"Zoë Ωμέγα 中文 العربية\"")?,
        s("astral-raw", "astral characters (emoji, U+10FFFF) written raw", "\"😀 𝄞 \u{10FFFF}\"")?,
        s("astral-escaped-pair", "an escaped surrogate pair", r#""\uD83D\uDE00""#)?,
        s("max-code-point-escaped", "U+10FFFF as the escaped pair \\udbff\\udfff", r#""\udbff\udfff""#)?,
        s(
            "all-c0-controls-escaped",
            "every control character U+0000..U+001F as a \\u escape",
            &format!("\"{}\"", (0..0x20).map(|c| format!("\\u{c:04x}")).collect::<String>()),
        )?,
        s("short-escapes", "the short escapes \\b \\f \\n \\r \\t \\\" \\\\ \\/", r#""\b\f\n\r\t\"\\\/""#)?,
        s("escaped-nul", "\\u0000", r#""a\u0000b""#)?,
        s("escaped-vertical-tab", "\\u000b (no short escape)", r#""a\u000bb""#)?,
        s("escaped-backspace-long", "\\u0008 (written back as \\b)", r#""a\u0008b""#)?,
        s("escaped-unit-separator", "\\u001f", r#""a\u001fb""#)?,
        s("escaped-del", "\\u007f (DEL)", r#""a\u007fb""#)?,
        s("raw-del", "a raw DEL byte (0x7F)", "\"a\u{7f}b\"")?,
        s("c1-controls", "C1 controls U+0080, U+009F raw and escaped", "\"\u{80}\u{9f}\\u0085\"")?,
        s("line-separators-raw", "U+2028 and U+2029 written raw", "\"a\u{2028}b\u{2029}c\"")?,
        s("line-separators-escaped", "U+2028 and U+2029 as \\u escapes", r#""a\u2028b\u2029c""#)?,
        s("bom-inside-string", "U+FEFF inside a string", r#""\ufeffx""#)?,
        s("noncharacters", "the noncharacters U+FFFE and U+FFFF", r#""\ufffe\uffff""#)?,
        s("printable-ascii", "every printable ASCII character", &serde_json::to_string(&(0x20u8..0x7f).map(char::from).collect::<String>())?)?,
        s("combining-characters", "a decomposed é (e + U+0301), not normalised", "\"e\u{301}\"")?,
    ];
    let any = ctx.any_site("strings/strings-in-*", AnyShape::MapValue)?;
    let any_base = ctx.base(&any.target, false)?;
    cases.push(put(
        ctx,
        &any.target,
        &any_base,
        &format!("strings-in-{}", any.target.slug()),
        &format!("control characters and separators inside {}", any.target.shown()),
        &any.wrap_object(r#"{"s":"\u0001\u2028\ud83d\ude00","t":["\t","\u007f"]}"#),
    )?);
    for (slug, byte) in [("nul", 0x00u8), ("soh", 0x01), ("tab", 0x09), ("lf", 0x0a), ("cr", 0x0d), ("us", 0x1f)] {
        let raw = [b'"', b'a', byte, b'b', b'"'];
        cases.push(
            Case::body(format!("raw-control-{slug}"), format!("a raw control byte 0x{byte:02X} inside a string, in {at}"), put_bytes(ctx, &site, &base, &raw)?)
                .holds_text(&site.path, String::from_utf8_lossy(&raw)),
        );
    }
    let surrogates = [
        ("lone-high-surrogate-at-end", r#""a\ud800""#, "an escaped high surrogate at the end of the string"),
        ("lone-high-surrogate-then-char", r#""\ud800x""#, "an escaped high surrogate followed by a plain character"),
        ("lone-high-surrogate-then-escape", r#""\ud800\u0041""#, "an escaped high surrogate followed by a non-surrogate escape"),
        ("two-high-surrogates", r#""\ud800\ud800""#, "two escaped high surrogates"),
        ("lone-low-surrogate", r#""a\udc00b""#, "an escaped low surrogate alone"),
        ("lone-low-surrogate-at-end", r#""a\udfff""#, "an escaped low surrogate at the end"),
        ("reversed-surrogate-pair", r#""\ude00\ud83d""#, "a low surrogate before a high one"),
    ];
    for (slug, raw, what) in surrogates {
        cases.push(s(slug, what, raw)?);
        cases.push(put(
            ctx,
            &any.target,
            &any_base,
            &format!("{slug}-in-{}", any.target.slug()),
            &format!("{what}, in {}", any.what()),
            &any.wrap(raw),
        )?);
    }
    let invalid_utf8: [(&str, &[u8], &str); 6] = [
        ("invalid-utf8-ff", b"\"a\xffb\"", "the byte 0xFF"),
        ("invalid-utf8-continuation", b"\"a\x80b\"", "a lone continuation byte"),
        ("invalid-utf8-overlong", b"\"\xc0\xaf\"", "an overlong encoding of /"),
        ("invalid-utf8-encoded-surrogate", b"\"\xed\xa0\x80\"", "a UTF-8-encoded surrogate (CESU-8)"),
        ("invalid-utf8-truncated", b"\"\xe2\x82\"", "a truncated three-byte sequence"),
        ("invalid-utf8-beyond-max", b"\"\xf4\x90\x80\x80\"", "a four-byte sequence above U+10FFFF"),
    ];
    for (slug, raw, what) in invalid_utf8 {
        cases.push(
            Case::body(slug, format!("{what} inside a string, in {at}"), put_bytes(ctx, &site, &base, raw)?)
                .holds_text(&site.path, String::from_utf8_lossy(raw)),
        );
    }
    let bad_escapes = [
        ("invalid-escape-x", r#""\x41""#, "the escape \\x"),
        ("invalid-escape-quote", r#""\'""#, "the escape \\'"),
        ("invalid-escape-uppercase-u", r#""\U0041""#, "the escape \\U"),
        ("short-unicode-escape", r#""\u41""#, "a \\u escape with two hex digits"),
        ("non-hex-unicode-escape", r#""\u00g1""#, "a \\u escape with a non-hex digit"),
    ];
    for (slug, raw, what) in bad_escapes {
        cases.push(s(slug, what, raw)?);
    }
    Ok(cases)
}

/// Map keys whose UTF-16 order differs from their code-point order, at every place a map or a
/// dynamic object can be; and other key-ordering corners.
pub fn map_keys(ctx: &Ctx) -> Result<Vec<Case>> {
    // Written in UTF-16 order (the order JavaScript's default sort gives); canonical order is by
    // code point.
    let pairs = [
        ("ffff-vs-10000", "\u{10000}", "\u{ffff}", "U+10000 and U+FFFF"),
        ("e000-vs-1f600", "\u{1F600}", "\u{E000}", "U+1F600 and U+E000"),
    ];
    let any_maps = named_sites(ctx.any_sites_of(AnyShape::MapValue));
    let string_maps = named(ctx.fields_where(|f| f.ty == Type::Map { values: Box::new(Type::String) }));
    let any_items = named_sites(ctx.any_sites_of(AnyShape::Item));
    let any_values = named_sites(ctx.any_sites_of(AnyShape::Value));
    let sites = ctx.any_sites();
    need(
        "map_keys",
        &[
            Kind { name: ANY_KIND, targets: sites.len() },
            Kind { name: "map of strings", targets: string_maps.len() },
        ],
    )?;
    let mut cases = Vec::new();
    for (slug, first, second, what) in pairs {
        let object = |inner: Value| {
            let mut map = Map::new();
            map.insert(first.to_string(), json!(1));
            map.insert(second.to_string(), inner);
            Value::Object(map)
        };
        for (name, site) in &any_maps {
            let t = &site.target;
            cases.push(set(ctx, t, &ctx.base(t, false)?, &format!("{name}-{slug}"), &format!("{} keys {what}", t.shown()), object(json!(2)))?);
        }
        for (name, t) in &string_maps {
            let mut map = Map::new();
            map.insert(first.to_string(), json!("a"));
            map.insert(second.to_string(), json!("b"));
            cases.push(set(ctx, t, &ctx.base(t, false)?, &format!("{name}-{slug}"), &format!("{} keys {what}", t.shown()), Value::Object(map))?);
        }
        for (name, site) in &any_items {
            let t = &site.target;
            cases.push(set(
                ctx,
                t,
                &ctx.base(t, false)?,
                &format!("{name}-nested-{slug}"),
                &format!("keys {what} in objects nested two deep inside {}", t.shown()),
                json!([[object(object(json!(null)))], {"x": object(json!([]))}]),
            )?);
        }
        for (name, site) in &any_maps {
            let t = &site.target;
            cases.push(set(
                ctx,
                t,
                &ctx.base(t, false)?,
                &format!("{name}-nested-{slug}"),
                &format!("keys {what} in an object inside a value of {}", t.shown()),
                json!({"k": [object(json!(2))]}),
            )?);
        }
        for (name, site) in &any_values {
            let t = &site.target;
            cases.push(set(
                ctx,
                t,
                &ctx.base(t, false)?,
                &format!("{name}-{slug}"),
                &format!("keys {what} in an object given to {} and one nested in it", t.shown()),
                object(object(json!(3))),
            )?);
        }
    }
    let site = ctx.any_site("map_keys/*-order", AnyShape::MapValue)?;
    let base = ctx.base(&site.target, false)?;
    let at = site.target.shown();
    for (slug, raw, what) in [
        ("ascii-order", r#"{"~":1,"a":2,"_":3,"B":4,"0":5,"":6}"#, "keys B, a, _, 0, ~ and the empty key"),
        ("prefix-order", r#"{"ab":1,"aa":2,"a":3,"b":4}"#, "keys that are prefixes of each other"),
        ("latin1-after-ascii", r#"{"é":1,"z":2,"e":3}"#, "é sorts after z"),
        ("escaped-keys-sort-decoded", r#"{"\u0062":1,"a":2,"\n":3,"\"":4}"#, "keys sort by their decoded text, not their escapes"),
        ("bmp-vs-astral-mixed", "{\"\u{1F600}\":1,\"\u{FFFD}\":2,\"\u{E000}\":3,\"\u{D7FF}\":4,\"\u{10FFFF}\":5,\"\u{10000}\":6}", "BMP, private-use and astral keys mixed"),
        ("numeric-like-keys", r#"{"b":1,"10":2,"2":3,"1":4,"-1":5}"#, "keys that look like integers (JavaScript objects reorder those)"),
    ] {
        cases.push(put(ctx, &site.target, &base, slug, &format!("{what}, in {at}"), &site.wrap_object(raw))?);
    }
    Ok(cases)
}

/// Numbers in every any-JSON value, in every float field and in every integer field (whose
/// bounds the systematic cases test).
pub fn numbers(ctx: &Ctx) -> Result<Vec<Case>> {
    let any = [
        ("zero", "0"),
        ("one", "1"),
        ("minus-zero-integer", "-0"),
        ("minus-zero-float", "-0.0"),
        ("zero-float", "0.0"),
        ("one-float", "1.0"),
        ("one-with-exponent", "1e0"),
        ("capital-exponent", "1E5"),
        ("plus-exponent", "1e+2"),
        ("negative-exponent-integral", "100e-2"),
        ("fraction-with-exponent", "0.1e1"),
        ("tenth", "0.1"),
        ("tenth-long", "0.1000000000000000055511151231257827"),
        ("2pow53", "9007199254740992"),
        ("2pow53-plus-1", "9007199254740993"),
        ("2pow53-minus-1", "9007199254740991"),
        ("minus-2pow53", "-9007199254740992"),
        ("minus-2pow53-minus-1", "-9007199254740993"),
        ("minus-2pow53-plus-1", "-9007199254740991"),
        ("i64-max", "9223372036854775807"),
        ("i64-max-plus-1", "9223372036854775808"),
        ("i64-min", "-9223372036854775808"),
        ("i64-min-minus-1", "-9223372036854775809"),
        ("u64-max", "18446744073709551615"),
        ("u64-max-plus-1", "18446744073709551616"),
        ("beyond-u64-long", "123456789012345678901234567890"),
        ("1e21", "1e21"),
        ("1e-7", "1e-7"),
        ("min-subnormal", "5e-324"),
        ("min-subnormal-rounds-up", "2.4703282292062328e-324"),
        ("underflow-to-zero", "2.4703282292062327e-324"),
        ("underflow-1e-400", "1e-400"),
        ("negative-underflow", "-1e-400"),
        ("zero-huge-exponent", "0e999999999999999999999"),
        ("min-normal", "2.2250738585072014e-308"),
        ("f64-max", "1.7976931348623157e308"),
        ("f64-max-rounds-down", "1.7976931348623158e308"),
        ("f64-overflow-rounding", "1.7976931348623159e308"),
        ("1e400", "1e400"),
        ("minus-1e400", "-1e400"),
        ("2e308", "2e308"),
        // The float format: fixed notation for decimal exponents -5..=15, scientific outside.
        ("format-1e15", "1e15"),
        ("format-largest-fixed", "9999999999999998.0"),
        ("format-17-digits-fixed", "1234567890123456.7"),
        ("format-1e16", "1e16"),
        ("format-1.5e16", "15000000000000000.0"),
        ("format-1e17-integer-literal", "100000000000000000.0"),
        ("format-1e20", "1e20"),
        ("format-1e22", "1e22"),
        ("format-1e23", "100000000000000000000000.0"),
        ("format-1e-4", "0.0001"),
        ("format-1e-5", "0.00001"),
        ("format-small-fixed", "0.000012345"),
        ("format-just-below-1e-5", "0.000009999999999999999"),
        ("format-1e-6", "0.000001"),
        ("format-9.9e-6", "9.9e-6"),
        ("format-many-digits-small", "12345678.9e-13"),
        ("format-123.0", "123.0"),
        ("format-mantissa-digits", "123456789012345680.0"),
        ("format-negative-small", "-2.5e-10"),
        ("format-large-exponent", "1.5e300"),
        ("format-0.3", "0.30000000000000004"),
        ("format-one-third", "0.3333333333333333"),
    ];
    let sites = ctx.any_sites();
    need("numbers (dynamic values)", &[Kind { name: ANY_KIND, targets: sites.len() }])?;
    let mut cases = Vec::new();
    for (name, site) in named_sites(sites) {
        let t = &site.target;
        let base = ctx.base(t, false)?;
        for (slug, raw) in any {
            cases.push(put(ctx, t, &base, &format!("{name}-{slug}"), &format!("{raw} as {}", site.what()), &site.wrap(raw))?);
        }
    }
    let site = ctx.any_site("numbers/syntax-*", AnyShape::Item)?;
    let base = ctx.base(&site.target, false)?;
    for (slug, raw) in [
        ("leading-zero", "01"),
        ("negative-leading-zero", "-01"),
        ("plus-sign", "+1"),
        ("leading-dot", ".5"),
        ("trailing-dot", "5."),
        ("dot-before-exponent", "1.e5"),
        ("empty-exponent", "1e"),
        ("lone-minus", "-"),
        ("nan", "NaN"),
        ("infinity", "Infinity"),
        ("hex", "0x10"),
        ("underscore", "1_000"),
    ] {
        cases.push(put(ctx, &site.target, &base, &format!("syntax-{slug}"), &format!("the number syntax {raw} in {}", site.what()), &site.wrap(raw))?);
    }
    let float_field = [
        ("integer", "3"),
        ("zero", "0"),
        ("float", "2.5"),
        ("negative", "-1"),
        ("minus-zero-integer", "-0"),
        ("2pow53-plus-1", "9007199254740993"),
        ("u64-max", "18446744073709551615"),
        ("beyond-u64", "18446744073709551616"),
        ("i64-min", "-9223372036854775808"),
        ("exponent", "1e3"),
        ("tiny", "5e-324"),
        ("1e400", "1e400"),
        ("true", "true"),
        ("array", "[1]"),
    ];
    for (name, t) in named(ctx.of_type(&Type::Float)) {
        let base = ctx.base(&t, true)?;
        for (slug, raw) in float_field {
            cases.push(put(ctx, &t, &base, &format!("{name}-{slug}"), &format!("{} (a number) given {raw}", t.shown()), raw)?);
        }
    }
    for (name, t) in named(ctx.fields_where(|f| matches!(f.ty, Type::Integer { .. }))) {
        let Type::Integer { max, .. } = &t.field.ty else { unreachable!("filtered") };
        let base = ctx.base(&t, false)?;
        let mut integer_field: Vec<(String, String)> = [
            ("one", "1"),
            ("zero", "0"),
            ("minus-one", "-1"),
            ("minus-zero", "-0"),
            ("exponent", "1e0"),
            ("fraction", "1.5"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        if let Some(max) = max {
            let beyond = max + 1;
            match (beyond > 0 && beyond & (beyond - 1) == 0).then(|| beyond.trailing_zeros()) {
                Some(k) => {
                    integer_field.push((format!("2pow{k}"), beyond.to_string()));
                    integer_field.push((format!("2pow{k}-minus-1"), max.to_string()));
                }
                None => {
                    integer_field.push(("max-plus-1".into(), beyond.to_string()));
                    integer_field.push(("max".into(), max.to_string()));
                }
            }
        }
        for (a, b) in [
            ("i64-min", "-9223372036854775808"),
            ("u64-max", "18446744073709551615"),
            ("beyond-u64", "18446744073709551616"),
            ("beyond-i64-negative", "-9223372036854775809"),
            ("true", "true"),
            ("string", r#""1""#),
            ("null", "null"),
        ] {
            integer_field.push((a.into(), b.into()));
        }
        let described = super::systematic::describe(&t.field.ty);
        for (slug, raw) in integer_field {
            cases.push(put(ctx, &t, &base, &format!("{name}-{slug}"), &format!("{} ({described}) given {raw}", t.shown()), &raw)?);
        }
    }
    for (name, site) in named_sites(ctx.any_sites_of(AnyShape::MapValue)) {
        let t = &site.target;
        let raw = r#"{"i":10,"f":10.0,"e":1e1,"n":-0,"big":18446744073709551616}"#;
        cases.push(put(ctx, t, &ctx.base(t, false)?, &format!("{name}-mixed"), &format!("integers and floats side by side in {}", t.shown()), raw)?);
    }
    for (name, site) in named_sites(ctx.any_sites_of(AnyShape::Value)) {
        let t = &site.target;
        let raw = r#"{"a":[0.5,1e-7,1e21,-0.0]}"#;
        cases.push(put(ctx, t, &ctx.base(t, true)?, &format!("{name}-floats"), &format!("floats in an object given to {}", t.shown()), raw)?);
    }
    Ok(cases)
}

/// Wrong JSON types beyond the systematic ones.
pub fn types(ctx: &Ctx) -> Result<Vec<Case>> {
    let mut cases = Vec::new();
    for (name, t) in named(ctx.of_type(&Type::Bool)) {
        let base = ctx.fx.minimal(t.variant)?;
        cases.push(set(ctx, &t, &base, &format!("{name}-integer"), &format!("{} (a boolean) given 1", t.shown()), json!(1))?);
        cases.push(set(ctx, &t, &base, &format!("{name}-string-false"), &format!("{} (a boolean) given \"false\"", t.shown()), json!("false"))?);
    }
    for (name, t) in named(ctx.fields_where(|f| matches!(f.ty, Type::Array { .. }))) {
        let base = ctx.base(&t, false)?;
        cases.push(set(ctx, &t, &base, &format!("{name}-string"), &format!("{} (an array) given a string", t.shown()), json!("a"))?);
        cases.push(set(ctx, &t, &base, &format!("{name}-object"), &format!("{} (an array) given an object with index keys", t.shown()), json!({"0": 1}))?);
    }
    for (name, t) in named(ctx.fields_where(|f| matches!(f.ty, Type::Map { .. }))) {
        let base = ctx.base(&t, false)?;
        cases.push(set(ctx, &t, &base, &format!("{name}-array-of-pairs"), &format!("{} (a map) given an array of pairs", t.shown()), json!([["a", 1]]))?);
    }
    for (name, t) in named(ctx.fields_where(|f| f.ty == Type::Map { values: Box::new(Type::String) })) {
        let base = ctx.base(&t, false)?;
        let sample = ctx.fx.value(t.field, Flavor::Max)?;
        let key = sample.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_else(|| "key".into());
        let mut nested = Map::new();
        nested.insert(key, json!({"v": "00"}));
        cases.push(set(ctx, &t, &base, &format!("{name}-nested-object"), &format!("a value of {} (a map of strings) given an object", t.shown()), Value::Object(nested))?);
        cases.push(set(
            ctx,
            &t,
            &base,
            &format!("{name}-value-number-key-escaped"),
            &format!("a non-string value of {} under a key that needs quoting in the path", t.shown()),
            json!({"a b.c": 1}),
        )?);
    }
    for (name, t) in named(ctx.fields_where(|f| ctx.enum_of(&f.ty).is_some())) {
        let e = ctx.enum_of(&t.field.ty).expect("filtered");
        let first = &e.values.first().ok_or_else(|| anyhow!("the enum `{}` has no values", e.name))?.value;
        let base = ctx.fx.minimal(t.variant)?;
        cases.push(set(ctx, &t, &base, &format!("{name}-object-with-value"), &format!("{} given {{\"{first}\": []}}", t.shown()), json!({ first.as_str(): [] }))?);
    }
    for (name, t) in named(ctx.of_type(&Type::Float)) {
        let base = ctx.fx.minimal(t.variant)?;
        cases.push(set(ctx, &t, &base, &format!("{name}-string"), &format!("{} (a number) given a numeric string", t.shown()), json!("2.5"))?);
    }
    for (name, t) in named(ctx.fields_where(|f| ctx.is_struct(&f.ty))) {
        let base = ctx.base(&t, false)?;
        let inner = super::fixtures::get(&base, &t.path).cloned().unwrap_or(json!({}));
        cases.push(set(ctx, &t, &base, &format!("{name}-string"), &format!("{} given a JSON string of an object", t.shown()), json!(text(&inner)))?);
    }
    Ok(cases)
}

/// Required fields absent beyond the systematic ones, and which error wins.
pub fn missing(ctx: &Ctx) -> Result<Vec<Case>> {
    let content = &ctx.root.content;
    let mut cases = Vec::new();
    for variant in &ctx.root.variants {
        let tag = &variant.tag_value;
        cases.push(
            v(
                &format!("{tag}-empty-payload"),
                &format!("a {tag} whose `{content}` is {{}} (the first required field in declaration order is reported)"),
                &ctx.fx.envelope(variant, json!({})),
            )
            .holds_json(std::slice::from_ref(content), json!({})),
        );
    }
    for (name, t) in named(ctx.fields_where(|f| ctx.is_struct(&f.ty))) {
        let base = ctx.base(&t, false)?;
        cases.push(set(ctx, &t, &base, &format!("{name}-empty"), &format!("{} given {{}}", t.shown()), json!({}))?);
    }

    let smallest = ctx.smallest()?;
    let required = top_fields(ctx, smallest, |t| t.field.required);
    let late = top_fields(ctx, smallest, |t| !t.field.required && wrong(ctx, &t.field.ty).is_some()).pop();
    if let (Some(late), false) = (late, required.is_empty()) {
        let bad = wrong(ctx, &late.field.ty).expect("filtered");
        let mut payload = Map::new();
        payload.insert(late.field.name.clone(), bad.clone());
        let shown: Vec<String> = required.iter().map(|t| t.shown()).collect();
        cases.push(
            v(
                "wrong-type-beats-missing",
                &format!("a {} with {} of the wrong type and {} absent (the wrong type is reported)", smallest.tag_value, late.shown(), shown.join(", ")),
                &ctx.fx.envelope(smallest, Value::Object(payload)),
            )
            .holds_json(&late.path, bad),
        );
    }
    let nested = ctx.targets.iter().find(|t| !t.top_level() && matches!(t.field.ty, Type::Integer { min: Some(_), .. }));
    if let Some(t) = nested {
        let Type::Integer { min: Some(min), .. } = &t.field.ty else { unreachable!("found") };
        let below = super::fixtures::integer(min - 1).ok_or_else(|| anyhow!("no integer below {}", t.shown()))?;
        if let Some(first_required) = top_fields(ctx, t.variant, |f| f.field.required && !t.path.starts_with(&f.path)).into_iter().next() {
            let message = without(ctx.fx.set(t.variant, ctx.fx.minimal(t.variant)?, &t.path, below.clone())?, &first_required.path);
            cases.push(
                v(
                    "nested-error-beats-missing",
                    &format!("a {} with {} given {below} and {} absent (present fields are read first)", t.variant.tag_value, t.shown(), first_required.shown()),
                    &message,
                )
                .holds_json(&t.path, below),
            );
        }
    }
    if let Some(variant) = ctx.root.variants.iter().find(|v| top_fields(ctx, v, |t| t.field.required).len() >= 3) {
        let required = top_fields(ctx, variant, |t| t.field.required);
        let (a, b) = (&required[1], &required[2]);
        let message = without(without(ctx.fx.minimal(variant)?, &b.path), &a.path);
        cases.push(
            v(
                "two-missing-declaration-order",
                &format!("a {} without {} and without {} ({} is declared first)", variant.tag_value, b.shown(), a.shown(), a.shown()),
                &message,
            )
            .holds_json(&a.path, Value::Null)
            .holds_json(&b.path, Value::Null),
        );
    }
    if let Some(first_required) = required.first() {
        let name = &first_required.field.name;
        let mut camel = String::new();
        let mut upper = false;
        for c in name.chars() {
            if c == '_' {
                upper = true;
            } else {
                camel.push(if upper { c.to_ascii_uppercase() } else { c });
                upper = false;
            }
        }
        let value = ctx.fx.value(first_required.field, Flavor::Min)?;
        let mut payload = Map::new();
        for key in [camel, name.to_uppercase()] {
            if &key != name {
                payload.insert(key, value.clone());
            }
        }
        cases.push(
            v(
                "missing-field-with-unknown-fields",
                &format!("a {} with only unknown fields named like {}", smallest.tag_value, first_required.shown()),
                &ctx.fx.envelope(smallest, Value::Object(payload)),
            )
            .holds_json(&first_required.path, Value::Null),
        );
    }
    Ok(cases)
}

/// The envelope: its tag and content.
pub fn envelope(ctx: &Ctx) -> Result<Vec<Case>> {
    let (tag, content) = (&ctx.root.tag, &ctx.root.content);
    let smallest = ctx.smallest()?;
    let small = ctx.fx.minimal(smallest)?;
    let payload = small[content].clone();
    let at_tag = |case: Case, value: Value| case.holds_json(std::slice::from_ref(tag), value);
    let variant_tags: Vec<&str> = ctx.root.variants.iter().map(|v| v.tag_value.as_str()).collect();
    let unknown = free_key("ping", &variant_tags);
    let with_tag = |value: Value| with(small.clone(), &[tag], value);
    let s = &smallest.tag_value;
    let mut capitalized = s.chars();
    let capitalized = capitalized.next().map(|c| c.to_uppercase().collect::<String>() + capitalized.as_str()).unwrap_or_default();
    let other_key = free_key("kind", &[tag, content]);
    let mut only_kind = Map::new();
    only_kind.insert(other_key, json!(s));
    let mut unknown_fields = Map::new();
    unknown_fields.insert(tag.clone(), json!(s));
    unknown_fields.insert(free_key("id", &[tag, content]), json!(1));
    unknown_fields.insert(content.clone(), payload.clone());
    unknown_fields.insert(free_key("meta", &[tag, content]), json!({"a": [1]}));
    let mut only_payload = Map::new();
    only_payload.insert(content.clone(), payload.clone());
    let mut cases = vec![
        b("array", &format!("the envelope given as a JSON array [{tag}, {content}]"), format!("[{},{}]", text(&json!(s)), text(&payload))),
        b("null", "the body is null", "null"),
        b("string", "the body is a string", text(&json!(ctx.first().tag_value))),
        b("number", "the body is a number", "1"),
        b("true", "the body is true", "true"),
        b("empty-object", "the body is {}", "{}"),
        at_tag(v("type-missing", &format!("`{content}` without `{tag}`"), &Value::Object(only_payload)), Value::Null),
        at_tag(v("type-and-payload-missing", &format!("an object with neither `{tag}` nor `{content}`"), &Value::Object(only_kind)), Value::Null),
        at_tag(v("type-null", &format!("`{tag}` given null"), &with_tag(Value::Null)), Value::Null),
        at_tag(v("type-number", &format!("`{tag}` given a number"), &with_tag(json!(2))), json!(2)),
        at_tag(v("type-array", &format!("`{tag}` given [{s:?}]"), &with_tag(json!([s]))), json!([s])),
        at_tag(v("type-object", &format!("`{tag}` given {{{s:?}: null}}"), &with_tag(json!({ s.as_str(): null }))), json!({ s.as_str(): null })),
        at_tag(v("type-unknown", &format!("an unknown `{tag}`"), &with_tag(json!(unknown))), json!(unknown)),
        at_tag(v("type-wrong-case", &format!("`{tag}` {capitalized:?}"), &with_tag(json!(capitalized))), json!(capitalized)),
        at_tag(v("type-trailing-space", &format!("`{tag}` \"{s} \""), &with_tag(json!(format!("{s} ")))), json!(format!("{s} "))),
        at_tag(v("type-empty", &format!("`{tag}` \"\""), &with_tag(json!(""))), json!("")),
        b("unknown-type-without-payload", &format!("an unknown `{tag}` and no `{content}` (the `{tag}` is reported)"), format!("{{{}:{}}}", text(&json!(tag)), text(&json!(unknown)))),
        b("bad-type-and-bad-payload", &format!("`{tag}` is a number and `{content}` is invalid (the `{tag}` is reported)"), format!("{{{}:1,{}:1}}", text(&json!(tag)), text(&json!(content)))),
        v("unknown-envelope-fields", &format!("unknown fields next to `{tag}` and `{content}` (ignored)"), &Value::Object(unknown_fields)).whole(),
    ];
    let first = ctx.first();
    let last = ctx.root.variants.last().expect("a union has variants");
    let foreign = |host: &Variant, guest: &Variant| -> Result<Case> {
        Ok(v(
            &format!("{}-with-{}-payload", host.tag_value, guest.tag_value),
            &format!("`{tag}` {} with a {}'s `{content}` (the fields they share are read, the rest ignored)", host.tag_value, guest.tag_value),
            &ctx.fx.envelope(host, ctx.fx.maximal(guest)?[content].clone()),
        ))
    };
    for host in ctx.root.variants.iter().filter(|v| !std::ptr::eq(*v, first)) {
        cases.push(foreign(host, first)?.whole());
    }
    if !std::ptr::eq(first, last) {
        cases.push(foreign(first, last)?.whole());
    }
    for variant in &ctx.root.variants {
        let t = &variant.tag_value;
        let at = |case: Case, value: Value| case.holds_json(std::slice::from_ref(content), value);
        let mut missing = Map::new();
        missing.insert(tag.clone(), json!(t));
        cases.push(at(v(&format!("{t}-payload-missing"), &format!("`{tag}` {t} without `{content}`"), &Value::Object(missing)), Value::Null));
        cases.push(at(v(&format!("{t}-payload-null"), &format!("`{tag}` {t} with `{content}` null"), &ctx.fx.envelope(variant, Value::Null)), Value::Null));
        cases.push(at(v(&format!("{t}-payload-string"), &format!("`{tag}` {t} with a string `{content}`"), &ctx.fx.envelope(variant, json!("{}"))), json!("{}")));
    }
    Ok(cases)
}

/// Duplicate keys: the last one wins in every object.
pub fn duplicates(ctx: &Ctx) -> Result<Vec<Case>> {
    let (tag, content) = (&ctx.root.tag, &ctx.root.content);
    let (site, short) = short(ctx)?;
    let smallest = site.variant;
    let small = ctx.fx.minimal(smallest)?;
    let key = text(&json!(site.field.name));
    let mut cases = vec![
        b("struct-field", &format!("{} twice", site.shown()), ctx.fx.splice(smallest, &small, &site.path, &format!("\"first\",{key}:\"second\""))?)
            .holds_json(&site.path, json!("second")),
        b(
            "struct-field-escaped",
            &format!("{} twice, once written with an escape", site.shown()),
            ctx.fx.splice(smallest, &small, &site.path, &format!("\"first\",{}:\"second\"", escape_char(&site.field.name, escape_index(&site.field.name))))?,
        )
        .holds_json(&site.path, json!("second")),
    ];
    if let Some(late) = top_fields(ctx, smallest, |t| !t.field.required && wrong(ctx, &t.field.ty).is_some()).pop() {
        let bad = text(&wrong(ctx, &late.field.ty).expect("filtered"));
        let good = ctx.fx.value(late.field, Flavor::Max)?;
        let late_key = text(&json!(late.field.name));
        cases.push(
            b(
                "struct-field-first-invalid",
                &format!("{} twice, first of the wrong type", late.shown()),
                ctx.fx.splice(smallest, &short, &late.path, &format!("{bad},{late_key}:{}", text(&good)))?,
            )
            .holds_json(&late.path, good.clone()),
        );
        cases.push(
            b(
                "struct-field-last-invalid",
                &format!("{} twice, last of the wrong type", late.shown()),
                ctx.fx.splice(smallest, &short, &late.path, &format!("{},{late_key}:{bad}", text(&good)))?,
            )
            .holds_text(&late.path, bad),
        );
    }
    if let Some(nullable) = top_fields(ctx, smallest, |t| t.field.nullable).into_iter().next() {
        let value = if nullable.field.ty == Type::String { json!("r") } else { ctx.fx.value(nullable.field, Flavor::Max)? };
        cases.push(
            b(
                "struct-field-last-null",
                &format!("{} twice, last null", nullable.shown()),
                ctx.fx.splice(smallest, &short, &nullable.path, &format!("{},{}:null", text(&value), text(&json!(nullable.field.name))))?,
            )
            .holds_json(&nullable.path, Value::Null),
        );
    }
    let scalar = ctx.targets.iter().find(|t| {
        !t.top_level() && matches!(t.field.ty, Type::Integer { .. } | Type::Float | Type::Bool)
    });
    if let Some(t) = scalar {
        let first = ctx.fx.value(t.field, Flavor::Min)?;
        let second = match (&t.field.ty, first.as_i64()) {
            (Type::Integer { .. }, Some(n)) => json!(n + 1),
            _ => ctx.fx.value(t.field, Flavor::Max)?,
        };
        cases.push(
            b(
                "nested-struct-field",
                &format!("{} twice", t.shown()),
                ctx.fx.splice(t.variant, &ctx.fx.minimal(t.variant)?, &t.path, &format!("{},{}:{}", text(&first), text(&json!(t.field.name)), text(&second)))?,
            )
            .holds_json(&t.path, second),
        );
    }
    for (name, site) in named_sites(ctx.any_sites_of(AnyShape::MapValue)) {
        let t = &site.target;
        let base = ctx.base(t, false)?;
        cases.push(put(ctx, t, &base, &format!("{name}-key"), &format!("a key of {} twice", t.shown()), r#"{"a":1,"b":2,"a":3}"#)?);
        cases.push(put(ctx, t, &base, &format!("{name}-key-different-types"), &format!("a key of {} twice with values of different types", t.shown()), r#"{"a":{"x":1},"a":[2]}"#)?);
    }
    for (name, t) in named(ctx.fields_where(|f| f.ty == Type::Map { values: Box::new(Type::String) })) {
        let base = ctx.base(&t, false)?;
        let sample = ctx.fx.value(t.field, Flavor::Max)?;
        let keys: Vec<String> = sample.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        let (k0, k1) = (keys.first().cloned().unwrap_or_else(|| "a".into()), keys.get(1).cloned().unwrap_or_else(|| "b".into()));
        let raw = format!("{{{}:\"first\",{}:\"s\",{}:\"second\"}}", text(&json!(k0)), text(&json!(k1)), text(&json!(k0)));
        cases.push(put(ctx, &t, &base, &format!("{name}-key"), &format!("a key of {} twice", t.shown()), &raw)?);
    }
    for (name, site) in named_sites(ctx.any_sites_of(AnyShape::Item)) {
        let t = &site.target;
        cases.push(put(ctx, t, &ctx.base(t, false)?, &format!("{name}-nested-object-key"), &format!("a key twice in an object inside {}", t.shown()), r#"[{"k":1,"k":2,"j":0}]"#)?);
    }
    for (name, site) in named_sites(ctx.any_sites_of(AnyShape::Value)) {
        let t = &site.target;
        cases.push(put(ctx, t, &ctx.base(t, true)?, &format!("{name}-key"), &format!("a key twice in an object given to {}", t.shown()), r#"{"k":"first","k":"second"}"#)?);
    }
    let index = ctx.root.variants.iter().position(|v| std::ptr::eq(v, smallest)).expect("a variant of the union");
    let other = &ctx.root.variants[if index > 0 { index - 1 } else { (index + 1) % ctx.root.variants.len() }];
    let (qt, qc, qs) = (text(&json!(tag)), text(&json!(content)), text(&json!(smallest.tag_value)));
    let payload = text(&small[content]);
    let unknown_tag = text(&json!(free_key("nope", &ctx.root.variants.iter().map(|v| v.tag_value.as_str()).collect::<Vec<_>>())));
    let at_tag = |case: Case| case.holds_json(std::slice::from_ref(tag), json!(smallest.tag_value));
    cases.extend([
        at_tag(b("envelope-type", &format!("`{tag}` twice: {} then {}", other.tag_value, smallest.tag_value), format!("{{{qt}:{},{qt}:{qs},{qc}:{payload}}}", text(&json!(other.tag_value))))),
        at_tag(b("envelope-type-invalid-first", &format!("`{tag}` twice: an unknown one, then {}", smallest.tag_value), format!("{{{qt}:{unknown_tag},{qc}:{payload},{qt}:{qs}}}"))),
        b("envelope-payload", &format!("`{content}` twice: the first invalid, the last valid"), format!("{{{qt}:{qs},{qc}:{{}},{qc}:{payload}}}")).whole(),
        b("envelope-payload-last-invalid", &format!("`{content}` twice: the first valid, the last invalid"), format!("{{{qt}:{qs},{qc}:{payload},{qc}:{{}}}}"))
            .holds_json(std::slice::from_ref(content), json!({})),
    ]);
    for (name, t) in named(ctx.fields_where(|f| ctx.enum_of(&f.ty).is_some())) {
        let e = ctx.enum_of(&t.field.ty).expect("filtered");
        let (Some(first), Some(last)) = (e.values.first(), e.values.last()) else { continue };
        let raw = format!("{},{}:{}", text(&json!(last.value)), text(&json!(t.field.name)), text(&json!(first.value)));
        cases.push(
            b(&name, &format!("{} twice: {} then {}", t.shown(), last.value, first.value), ctx.fx.splice(t.variant, &ctx.fx.minimal(t.variant)?, &t.path, &raw)?)
                .holds_json(&t.path, json!(first.value)),
        );
    }
    Ok(cases)
}

/// The frame header and the body's bytes.
pub fn frame(ctx: &Ctx) -> Result<Vec<Case>> {
    let (tag, content) = (&ctx.root.tag, &ctx.root.content);
    let smallest = ctx.smallest()?;
    let small = ctx.fx.minimal(smallest)?;
    let (site, short) = short(ctx)?;
    let body = text(&small).into_bytes();
    let header = |n: u32| n.to_be_bytes().to_vec();
    let framed = |n: u32, bytes: &[u8]| [header(n), bytes.to_vec()].concat();
    let len = body.len() as u32;
    let max = u32::try_from(ctx.ir.meta.max_frame_len).map_err(|_| anyhow!("x-rrq.max_frame_len does not fit a u32 header"))?;
    let depth = ctx.ir.meta.max_nesting_depth as usize;
    let short_text = text(&short);
    let short_payload = text(&short[content]);
    let wrong_string = with(short.clone(), &site.path, json!(1));
    let extra = free_key("x", &[tag, content]);
    let outside = top_fields(ctx, smallest, |t| !t.field.required).pop().unwrap_or(site.clone());
    let outside_value = text(&ctx.fx.value(outside.field, Flavor::Max)?);
    let qt = text(&json!(tag));
    ensure!(short_text.starts_with(&format!("{{{qt}:")), "the short message starts with its tag");
    let after_tag = short_text.find(&format!(",{}:", text(&json!(content)))).ok_or_else(|| anyhow!("the short message has its content after its tag"))?;
    let unclosed = &short_payload[..short_payload.len() - 1];
    Ok(vec![
        Case::frame("empty-input", "no bytes at all", Vec::new()),
        Case::frame("one-byte", "1 byte: part of a header", vec![0]),
        Case::frame("three-bytes", "3 bytes: part of a header", vec![0, 0, 0]),
        Case::frame("header-zero-no-body", "a header of 0 and nothing after it", header(0)),
        Case::frame("header-zero-with-body", "a header of 0 followed by a body", framed(0, &body)),
        Case::frame("header-only", "a header announcing a body that is not there", header(len)),
        Case::frame("header-larger-than-body", "a header one more than the body's length", framed(len + 1, &body)),
        Case::frame("header-smaller-than-body", "a header one less than the body's length", framed(len - 1, &body)),
        Case::frame("two-frames", "two complete frames where one is expected", [framed(len, &body), framed(len, &body)].concat()),
        Case::frame("header-at-max-short-body", format!("a header of exactly the maximum frame length ({max}) with a short body"), framed(max, &body)),
        Case::frame("header-over-max", format!("a header of the maximum frame length + 1 ({:#010x}) with a short body", max + 1), framed(max + 1, &body)),
        Case::frame("header-u32-max", "a header of 0xFFFFFFFF with a short body", framed(u32::MAX, &body)),
        Case::frame("header-little-endian", "the body's length written little-endian", [len.to_le_bytes().to_vec(), body.clone()].concat()),
        b("body-bom", "a UTF-8 byte-order mark before the JSON", [b"\xef\xbb\xbf".as_slice(), &body].concat()),
        b("body-utf16", "the body encoded as UTF-16LE", text(&small).encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>()),
        b(
            "body-invalid-utf8-outside-string",
            "a 0xFF byte between tokens",
            put_bytes(ctx, &outside, &small, &[b"\xff".as_slice(), outside_value.as_bytes()].concat())?,
        ),
        b("body-invalid-utf8-in-key", "a 0xFF byte inside an object key", envelope_bytes(ctx, smallest, &[unclosed.as_bytes(), b",\"\xff\":1}"].concat())),
        b("body-trailing-bytes", "a byte after the JSON document", [body.as_slice(), b"x"].concat()),
        b("body-trailing-nul", "a NUL byte after the JSON document", [body.as_slice(), b"\0"].concat()),
        b("body-trailing-second-document", "a second JSON document after the first", [body.as_slice(), b"{}"].concat()),
        b("body-trailing-whitespace", "spaces, tabs, CR and LF after the JSON", [body.as_slice(), b" \t\r\n"].concat()).whole(),
        b("body-leading-whitespace", "whitespace before the JSON", [b"\n\n  ".as_slice(), &body].concat()).whole(),
        b("body-whitespace-only", "a body of spaces", "   "),
        b("body-truncated", "the body cut short", &body[..body.len() - 2]),
        b("body-comment", "a comment inside the JSON", format!("{},/* c */{}", &short_text[..after_tag], &short_text[after_tag + 1..])),
        b("body-trailing-comma", "a trailing comma in an object", envelope_bytes(ctx, smallest, format!("{unclosed},}}").as_bytes())),
        b("body-single-quotes", "single-quoted strings", short_text.replace('"', "'")),
        b("body-unquoted-key", "an unquoted key", short_text.replacen(&qt, tag, 1)),
        b("body-error-after-type-error", "a type error followed by a syntax error (the syntax error is reported)", format!("{} x", text(&wrong_string))),
        b(
            "body-type-error-and-depth",
            "a type error and nesting beyond the limit (the nesting is reported)",
            super::fixtures::splice(&wrong_string, &[extra], &("[".repeat(depth) + &"]".repeat(depth))),
        ),
    ])
}

/// Nested `[` n deep: `[[...]]`.
fn arrays(n: usize) -> String {
    "[".repeat(n) + &"]".repeat(n)
}

/// Nested objects n deep: `{"a":{"a":...{}}}`.
fn objects(n: usize) -> String {
    "{\"a\":".repeat(n - 1) + "{}" + &"}".repeat(n - 1)
}

/// Nesting at and beyond the limit at every site that holds any JSON (and in ignored fields),
/// and large values.
pub fn limits(ctx: &Ctx) -> Result<Vec<Case>> {
    let max = usize::try_from(ctx.ir.meta.max_nesting_depth)?;
    let content = &ctx.root.content;
    let sites = ctx.any_sites();
    need("limits (nesting)", &[Kind { name: ANY_KIND, targets: sites.len() }])?;
    let mut cases = Vec::new();
    let mut push = |slug: String, what: String, body: String, total: usize, expect: Option<(&Path, String)>| -> Result<()> {
        ensure!(super::fixtures::depth(body.as_bytes()) == total, "limits/{slug}: the document is not {total} deep");
        let case = b(&slug, &format!("{what} nested so that the document is {total} levels deep (the limit is {max})"), body);
        cases.push(match expect {
            Some((path, raw)) => case.holds_text(path, raw),
            None => case.whole(),
        });
        Ok(())
    };
    let named_sites = named_sites(sites);
    for (nesting, shape) in [("", arrays as fn(usize) -> String), ("-objects", objects)] {
        for (name, site) in &named_sites {
            let base = ctx.base(&site.target, true)?;
            for (label, total) in [("at-limit", max), ("beyond-limit", max + 1)] {
                let raw = site.wrap(&shape(total - site.container_depth()));
                let body = ctx.fx.splice(site.target.variant, &base, &site.target.path, &raw)?;
                push(format!("nesting-{name}{nesting}-{label}"), site.what(), body, total, Some((&site.target.path, raw)))?;
            }
        }
    }
    let smallest = ctx.smallest()?;
    let small = ctx.fx.minimal(smallest)?;
    let st = ctx.fx.payload(smallest)?;
    let ignored = free_key("ignored", &st.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>());
    let outer = free_key("ignored", &[&ctx.root.tag, content]);
    for (label, total) in [("at-limit", max), ("beyond-limit", max + 1)] {
        let body = super::fixtures::splice(&small, &[content.clone(), ignored.clone()], &arrays(total - 2));
        push(format!("nesting-unknown-payload-field-{label}"), format!("an unknown (ignored) field of the {}'s `{content}`", smallest.tag_value), body, total, None)?;
        let body = super::fixtures::splice(&small, std::slice::from_ref(&outer), &arrays(total - 1));
        push(format!("nesting-unknown-envelope-field-{label}"), "an unknown (ignored) envelope field".into(), body, total, None)?;
    }
    let site = ctx.any_site("limits/large values", AnyShape::Item)?;
    let base = ctx.base(&site.target, false)?;
    let mib = "a".repeat(1 << 20);
    cases.push(put(ctx, &site.target, &base, "string-1mib", &format!("a 1 MiB string as {}", site.what()), &site.wrap(&format!("\"{mib}\"")))?);
    cases.push(put(
        ctx,
        &site.target,
        &base,
        &format!("many-{}", site.target.slug()),
        &format!("10000 values in {}", site.target.shown()),
        &site.wrap_many(&vec!["0".to_string(); 10_000]),
    )?);
    Ok(cases)
}
