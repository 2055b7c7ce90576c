//! Where cases go, found through the IR by type and role: every field of every message
//! ([`Target`], with its path computed from the IR), every site that holds any JSON
//! ([`AnySite`]), the field with a given runner role, the smallest message, and a base message
//! for a field that is coherent with it (an outcome carrying a result says it succeeded).
//!
//! Nothing here names a protocol field: a renamed field keeps its cases (under its new name),
//! and a case family whose only kind of target is gone fails generation naming the kind.

use super::fixtures::{Fixtures, Flavor, Path};
use crate::ir::{Field, FieldRole, Ir, Struct, Type, TypeDef, Union, ValueRole, Variant, VariantRole};
use anyhow::{anyhow, bail, Result};
use serde_json::{json, Value};

/// One field of one message: the variant, the struct that declares it, and its path.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub variant: &'a Variant,
    pub owner: &'a Struct,
    pub field: &'a Field,
    /// Object keys from the envelope to the field: the content key, then field names.
    pub path: Path,
}

impl Target<'_> {
    /// The field's name as a slug: `enqueue_time` → `enqueue-time`.
    pub fn slug(&self) -> String {
        slug(&self.field.name)
    }

    /// The field as the decoder's error paths write it: `payload.context.attempt`.
    pub fn error_path(&self) -> String {
        error_path(&self.path)
    }

    /// The field's path within its message, for descriptions: `` `context.attempt` ``.
    pub fn shown(&self) -> String {
        format!("`{}`", self.path[1..].join("."))
    }

    /// Whether the target is a direct field of the message's content.
    pub fn top_level(&self) -> bool {
        self.path.len() == 2
    }
}

/// A name as a slug: lower case, `_` and spaces as `-`.
pub fn slug(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect()
}

/// Object keys as `DecodeError::path()` writes them: `payload.context["a key"]`; `$` for none.
pub fn error_path(path: &[impl AsRef<str>]) -> String {
    let mut out = String::new();
    for key in path {
        let key = key.as_ref();
        let plain = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if plain {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(key);
        } else {
            out.push('[');
            out.push_str(&Value::String(key.to_string()).to_string());
            out.push(']');
        }
    }
    if out.is_empty() {
        out.push('$');
    }
    out
}

/// How a site holds any JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnyShape {
    /// The field is any JSON.
    Value,
    /// The field is an array of any JSON: the value is one of its items.
    Item,
    /// The field is a map of any JSON: the value is one of its values (under the key `k`).
    MapValue,
}

/// A field that holds any JSON, directly or as the items or values of its array or map.
#[derive(Debug, Clone)]
pub struct AnySite<'a> {
    pub target: Target<'a>,
    pub shape: AnyShape,
}

impl AnySite<'_> {
    /// The field's JSON text with `raw` as its (one) dynamic value.
    pub fn wrap(&self, raw: &str) -> String {
        match self.shape {
            AnyShape::Value => raw.to_string(),
            AnyShape::Item => format!("[{raw}]"),
            AnyShape::MapValue => format!("{{\"k\":{raw}}}"),
        }
    }

    /// The field's JSON text holding every one of `raws` (as an array for a plain any field).
    pub fn wrap_many(&self, raws: &[String]) -> String {
        match self.shape {
            AnyShape::Value | AnyShape::Item => format!("[{}]", raws.join(",")),
            AnyShape::MapValue => {
                let entries: Vec<String> = raws.iter().enumerate().map(|(i, raw)| format!("\"k{i}\":{raw}")).collect();
                format!("{{{}}}", entries.join(","))
            }
        }
    }

    /// The field's JSON text holding the JSON object `raw`: the object itself for a map of
    /// any (its entries are the map's), else as the one dynamic value.
    pub fn wrap_object(&self, raw: &str) -> String {
        match self.shape {
            AnyShape::MapValue => raw.to_string(),
            _ => self.wrap(raw),
        }
    }

    /// The nesting depth of the container the dynamic value sits in (the envelope is 1).
    pub fn container_depth(&self) -> usize {
        self.target.path.len() + usize::from(self.shape != AnyShape::Value)
    }

    /// How the site reads in a description: "an item of `args`".
    pub fn what(&self) -> String {
        let shown = self.target.shown();
        match self.shape {
            AnyShape::Value => format!("{shown} (any JSON)"),
            AnyShape::Item => format!("an item of {shown} (any JSON)"),
            AnyShape::MapValue => format!("a value of {shown} (any JSON)"),
        }
    }
}

/// What a case family needs from the schema, for the error when the schema has none of it.
pub struct Kind {
    pub name: &'static str,
    /// How many targets of the kind the schema has.
    pub targets: usize,
}

/// Fails when none of the kinds a case family targets exists in the schema: the family would
/// test nothing.
pub fn need(family: &str, kinds: &[Kind]) -> Result<()> {
    if kinds.iter().all(|k| k.targets == 0) {
        let names: Vec<&str> = kinds.iter().map(|k| k.name).collect();
        bail!(
            "golden case family `{family}` has no target: the schema has no {} (the cases would test nothing; change the family in codegen/src/golden/ if the protocol really lost it)",
            names.join(", nor any ")
        );
    }
    Ok(())
}

/// Everything a case builder needs from the IR.
pub struct Ctx<'a> {
    pub ir: &'a Ir,
    pub root: &'a Union,
    pub fx: Fixtures<'a>,
    /// Every field of every message, depth first in declaration order, messages in union order.
    pub targets: Vec<Target<'a>>,
}

impl<'a> Ctx<'a> {
    pub fn new(ir: &'a Ir) -> Result<Self> {
        let fx = Fixtures::new(ir)?;
        let root = fx.root;
        let mut targets = Vec::new();
        for variant in &root.variants {
            let st = fx.payload(variant)?;
            walk(&fx, variant, st, vec![root.content.clone()], &mut Vec::new(), &mut targets)?;
        }
        Ok(Ctx { ir, root, fx, targets })
    }

    /// The fields for which `pred` holds (with their paths).
    pub fn fields_where(&self, pred: impl Fn(&Field) -> bool) -> Vec<Target<'a>> {
        self.targets.iter().filter(|t| pred(t.field)).cloned().collect()
    }

    /// The fields of type `ty`.
    pub fn of_type(&self, ty: &Type) -> Vec<Target<'a>> {
        self.fields_where(|f| f.ty == *ty)
    }

    /// Whether `ty` names a struct.
    pub fn is_struct(&self, ty: &Type) -> bool {
        matches!(ty, Type::Named { name } if matches!(self.ir.get(name), Some(TypeDef::Struct(_))))
    }

    /// The enum `ty` names, if it does.
    pub fn enum_of(&self, ty: &Type) -> Option<&'a crate::ir::Enum> {
        match ty {
            Type::Named { name } => match self.ir.get(name) {
                Some(TypeDef::Enum(e)) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }

    /// Every site that holds any JSON.
    pub fn any_sites(&self) -> Vec<AnySite<'a>> {
        self.targets
            .iter()
            .filter_map(|t| {
                let shape = match &t.field.ty {
                    Type::Any => AnyShape::Value,
                    Type::Array { items } if **items == Type::Any => AnyShape::Item,
                    Type::Map { values } if **values == Type::Any => AnyShape::MapValue,
                    _ => return None,
                };
                Some(AnySite { target: t.clone(), shape })
            })
            .collect()
    }

    /// The any-JSON sites of one shape.
    pub fn any_sites_of(&self, shape: AnyShape) -> Vec<AnySite<'a>> {
        self.any_sites().into_iter().filter(|s| s.shape == shape).collect()
    }

    /// The site that stands for every any-JSON site in the families that test a value once:
    /// the first of shape `preferred`, else the first of any shape.
    pub fn any_site(&self, family: &str, preferred: AnyShape) -> Result<AnySite<'a>> {
        let sites = self.any_sites();
        need(family, &[Kind { name: ANY_KIND, targets: sites.len() }])?;
        Ok(sites.iter().find(|s| s.shape == preferred).unwrap_or(&sites[0]).clone())
    }

    /// The variant with a runner role (`why` says which case needs it).
    pub fn variant(&self, role: VariantRole, why: &str) -> Result<&'a Variant> {
        self.root.variants.iter().find(|v| v.role == Some(role)).ok_or_else(|| {
            anyhow!("{why} needs the message with the role `{}` (x-rrq-role) in `{}`, which the schema does not have", role.as_str(), self.root.name)
        })
    }

    /// The field reached from `variant`'s content through fields with the roles `roles`.
    pub fn role(&self, variant: &Variant, roles: &[FieldRole], why: &str) -> Result<Target<'a>> {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        self.targets
            .iter()
            .find(|t| {
                std::ptr::eq(t.variant, variant)
                    && t.path.len() == roles.len() + 1
                    && self.roles_along(t).iter().zip(roles).all(|(a, b)| *a == Some(*b))
            })
            .cloned()
            .ok_or_else(|| {
                anyhow!(
                    "{why} needs the field with the role `{}` (x-rrq-role) in the `{}` message, which the schema does not have",
                    names.join("` → `"),
                    variant.tag_value
                )
            })
    }

    /// Every field with the role `role` in `variant`'s content (not nested).
    pub fn with_role(&self, variant: &Variant, role: FieldRole) -> Vec<Target<'a>> {
        self.targets
            .iter()
            .filter(|t| std::ptr::eq(t.variant, variant) && t.top_level() && t.field.role == Some(role))
            .cloned()
            .collect()
    }

    /// The roles of the fields along a target's path (its own last).
    fn roles_along(&self, target: &Target) -> Vec<Option<FieldRole>> {
        (2..=target.path.len())
            .map(|n| self.targets.iter().find(|t| std::ptr::eq(t.variant, target.variant) && t.path[..] == target.path[..n]))
            .map(|t| t.and_then(|t| t.field.role))
            .collect()
    }

    /// The variant whose minimal message is the shortest (the cases about the envelope and
    /// the frame use it).
    pub fn smallest(&self) -> Result<&'a Variant> {
        let mut best: Option<(usize, &Variant)> = None;
        for variant in &self.root.variants {
            let len = super::fixtures::text(&self.fx.minimal(variant)?).len();
            if best.map_or(true, |(b, _)| len < b) {
                best = Some((len, variant));
            }
        }
        best.map(|(_, v)| v).ok_or_else(|| anyhow!("the root union `{}` has no variants", self.root.name))
    }

    /// The first variant of the union (the request, in a runner protocol).
    pub fn first(&self) -> &'a Variant {
        &self.root.variants[0]
    }

    /// The first required string field directly in the smallest message: the field the
    /// string cases write into.
    pub fn string_site(&self, family: &str) -> Result<Target<'a>> {
        let smallest = self.smallest()?;
        let strings = self.fields_where(|f| f.ty == Type::String && f.required && !f.nullable);
        need(family, &[Kind { name: "required string field", targets: strings.len() }])?;
        Ok(strings
            .iter()
            .find(|t| std::ptr::eq(t.variant, smallest) && t.top_level())
            .unwrap_or(&strings[0])
            .clone())
    }

    /// The status value with a role (loudly absent).
    pub fn status_value(&self, status: &Target, role: ValueRole, why: &str) -> Result<String> {
        let e = self.enum_of(&status.field.ty).ok_or_else(|| anyhow!("{why}: {} is not an enum", status.shown()))?;
        e.values.iter().find(|v| v.role == Some(role)).map(|v| v.value.clone()).ok_or_else(|| {
            anyhow!("{why} needs the value with the role `{}` (x-rrq-role) in `{}`, which the schema does not have", role.as_str(), e.name)
        })
    }

    /// A base message for a case about `target`: the minimal message of its variant (with the
    /// request and job ids when `typical`), the structs on the way to the target present, and
    /// coherent with it: in a message with a status, a result says `success`, an error
    /// `error`, a retry delay `retry` (with an error, which those statuses carry).
    pub fn base(&self, target: &Target, typical: bool) -> Result<Value> {
        let variant = target.variant;
        let mut message = if typical { self.fx.typical(variant)? } else { self.fx.minimal(variant)? };
        let top = self.targets.iter().find(|t| std::ptr::eq(t.variant, variant) && t.path[..] == target.path[..2]);
        let wanted = match top.and_then(|t| t.field.role) {
            Some(FieldRole::Result) => Some(ValueRole::Success),
            Some(FieldRole::Error) => Some(ValueRole::Error),
            Some(FieldRole::RetryAfter) => Some(ValueRole::Retry),
            _ => None,
        };
        let status = self.with_role(variant, FieldRole::Status).into_iter().next();
        if let (Some(wanted), Some(status)) = (wanted, status) {
            if status.path != target.path {
                if let Ok(value) = self.status_value(&status, wanted, "a coherent outcome") {
                    message = self.fx.set(variant, message, &status.path, json!(value))?;
                }
                if wanted != ValueRole::Success {
                    if let Some(error) = self.with_role(variant, FieldRole::Error).into_iter().next() {
                        if error.path != target.path[..2] && self.is_struct(&error.field.ty) {
                            let st = self.fx.strukt(named(&error.field.ty))?;
                            message = self.fx.set(variant, message, &error.path, self.fx.object(st, Flavor::Min)?)?;
                        }
                    }
                }
            }
        }
        for n in 3..=target.path.len() {
            let path = &target.path[..n - 1];
            if !super::fixtures::get(&message, path).is_some_and(Value::is_object) {
                let outer = self.targets.iter().find(|t| std::ptr::eq(t.variant, variant) && t.path[..] == *path);
                let st = self.fx.strukt(named(&outer.ok_or_else(|| anyhow!("no field at {}", path.join(".")))?.field.ty))?;
                message = self.fx.set(variant, message, path, self.fx.object(st, Flavor::Min)?)?;
            }
        }
        Ok(message)
    }
}

/// The kind of target of the families about dynamic values.
pub const ANY_KIND: &str = "any-JSON value (a field of any JSON, an array of any or a map of any)";

/// The name of a named type (`""` for other types).
pub fn named(ty: &Type) -> &str {
    match ty {
        Type::Named { name } => name,
        _ => "",
    }
}

fn walk<'a>(
    fx: &Fixtures<'a>,
    variant: &'a Variant,
    st: &'a Struct,
    path: Path,
    visiting: &mut Vec<String>,
    out: &mut Vec<Target<'a>>,
) -> Result<()> {
    visiting.push(st.name.clone());
    for field in &st.fields {
        let mut here = path.clone();
        here.push(field.name.clone());
        out.push(Target { variant, owner: st, field, path: here.clone() });
        if let Type::Named { name } = &field.ty {
            if let Some(TypeDef::Struct(inner)) = fx.ir.get(name) {
                if !visiting.contains(name) {
                    walk(fx, variant, inner, here, visiting, out)?;
                }
            }
        }
    }
    visiting.pop();
    Ok(())
}

/// Slugs for targets that are unique among them: the field's name, with as many enclosing
/// field names (and the message's tag) in front as it takes.
pub fn unique_slugs(targets: &[Target]) -> Vec<String> {
    let candidates = |t: &Target, n: usize| -> String {
        let names = &t.path[1..];
        if n <= names.len() {
            slug(&names[names.len() - n..].join("-"))
        } else {
            slug(&format!("{}-{}", t.variant.tag_value, names.join("-")))
        }
    };
    targets
        .iter()
        .map(|t| {
            let max = t.path.len();
            (1..=max)
                .map(|n| (n, candidates(t, n)))
                .find(|(n, s)| targets.iter().filter(|o| candidates(o, *n) == *s).count() == 1)
                .map_or_else(|| candidates(t, max), |(_, s)| s)
        })
        .collect()
}
