//! `rrq-codegen`: renders RRQ runner bindings from the protocol's JSON Schemas.
//!
//! The pipeline, one module per step: [`schema`] (the JSON Schema of each protocol version,
//! derived from `rrq-protocol`, or read from files) → [`ir`] (lowered to a language-neutral IR)
//! → [`lang`] (the runner roles resolved once, then one module per target language rendering
//! askama templates) → [`output`] (files with a provenance header, written or checked).
//! [`golden`] adds each built-in version's golden frame corpus, produced by running the Rust
//! reference implementation.

pub mod fuzz;
pub mod diff;
pub mod golden;
pub mod ir;
pub mod lang;
pub mod output;
mod parallel;
pub mod schema;

use anyhow::{bail, ensure, Result};
use ir::Ir;
use lang::{Lang, Roles};
use output::{GeneratedFile, Provenance};
use schema::Builtin;
use sha2::{Digest, Sha256};

/// Where the schemas to generate from come from.
pub enum Source {
    /// Every protocol version built into `rrq-protocol` (`v1`, `v2`, …).
    BuiltIn,
    /// Schema files' bytes: each becomes one module of the package.
    Files(Vec<Vec<u8>>),
}

/// Choices that do not come from the schemas.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The package's name (`billing-runner`); by default the schemas' `x-rrq.package_name`,
    /// else the latest schema's `title` in kebab case.
    pub package: Option<String>,
}

/// One schema of a package, rendered as its own module.
#[derive(Clone)]
pub struct Protocol {
    pub ir: Ir,
    /// The schema file's bytes, as written under the output folder.
    pub schema_bytes: Vec<u8>,
    /// Hex SHA-256 of `schema_bytes`.
    pub schema_sha256: String,
    /// The module and output folder: `v<protocol_version>`, or `None` for a lone schema without
    /// a protocol version (rendered at the package's root).
    pub module: Option<String>,
    /// The runner roles, when the schema declares them: only then is a runtime rendered.
    pub roles: Option<Roles>,
    /// The built-in version this schema is, with its reference codec.
    pub builtin: Option<Builtin>,
}

impl Protocol {
    fn new(bytes: Vec<u8>, builtin: Option<Builtin>) -> Result<Self> {
        let schema: serde_json::Value = serde_json::from_slice(&bytes)?;
        let ir = ir::lower(&schema)?;
        let roles = Roles::resolve(&ir)?;
        Ok(Protocol {
            module: ir.meta.version.as_ref().map(|v| format!("v{v}")),
            schema_sha256: format!("{:x}", Sha256::digest(&bytes)),
            schema_bytes: bytes,
            roles,
            builtin,
            ir,
        })
    }

    /// Where this protocol's files go under the output folder (`v1/`, or the root).
    pub fn folder(&self) -> String {
        self.module.as_ref().map(|m| format!("{m}/")).unwrap_or_default()
    }

    /// The provenance stamped into this protocol's own files.
    pub fn provenance(&self, package: &Package) -> Provenance {
        Provenance {
            generator_version: package.generator_version.clone(),
            schemas: vec![(self.ir.meta.version.clone(), self.schema_sha256.clone())],
        }
    }
}

/// Everything one package is rendered from: its schemas (oldest first; the last is the latest,
/// which the package's top level re-exports).
#[derive(Clone)]
pub struct Package {
    /// The package's name in kebab case (`rrq-runner`); each language derives its own names.
    pub name: String,
    /// The package's version (the latest schema's `x-rrq.package_version`).
    pub version: String,
    pub generator_version: String,
    pub protocols: Vec<Protocol>,
}

impl Package {
    /// The latest protocol (the last).
    pub fn latest(&self) -> &Protocol {
        self.protocols.last().expect("a package has at least one protocol")
    }

    /// Whether every protocol has runner roles, so that the package gets a runtime.
    pub fn has_runtime(&self) -> bool {
        self.protocols.iter().all(|p| p.roles.is_some())
    }

    /// The provenance stamped into files shared by every protocol.
    pub fn provenance(&self) -> Provenance {
        Provenance {
            generator_version: self.generator_version.clone(),
            schemas: self.protocols.iter().map(|p| (p.ir.meta.version.clone(), p.schema_sha256.clone())).collect(),
        }
    }

    /// Reads and checks the package's schemas.
    pub fn new(source: &Source, options: &Options) -> Result<Package> {
        let protocols = match source {
            Source::BuiltIn => schema::builtins()
                .into_iter()
                .map(|b| Protocol::new(schema::to_file_bytes(&b.schema()), Some(b)))
                .collect::<Result<Vec<_>>>()?,
            Source::Files(files) => files.iter().map(|bytes| Protocol::new(bytes.clone(), None)).collect::<Result<_>>()?,
        };
        ensure!(!protocols.is_empty(), "no schema to render");
        if protocols.len() > 1 {
            for p in &protocols {
                if p.module.is_none() {
                    bail!("a package of several schemas needs each to declare /x-rrq/protocol_version (`{}` does not)", p.ir.root);
                }
            }
            for (i, p) in protocols.iter().enumerate() {
                if protocols[..i].iter().any(|q| q.module == p.module) {
                    bail!("two schemas declare protocol_version {:?}", p.ir.meta.version.as_deref().unwrap_or_default());
                }
            }
        }
        let latest = protocols.last().expect("checked above");
        let name = match (&options.package, &latest.ir.meta.package_name) {
            (Some(name), _) => name.clone(),
            (None, Some(name)) => name.clone(),
            (None, None) => kebab_case(&latest.ir.root),
        };
        ensure!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && name.starts_with(|c: char| c.is_ascii_lowercase()),
            "package name `{name}`: expected lower-case ASCII letters, digits and `-`, starting with a letter"
        );
        Ok(Package {
            name,
            version: latest.ir.meta.package_version.clone(),
            generator_version: env!("CARGO_PKG_VERSION").to_string(),
            protocols,
        })
    }
}

impl Package {
    /// The package of one schema value, with default options (for tests and tools).
    pub fn for_schema(schema: &serde_json::Value) -> Result<Package> {
        Package::new(&Source::Files(vec![schema::to_file_bytes(schema)]), &Options::default())
    }
}

/// `BillingMessage` → `billing-message`.
fn kebab_case(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() && !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// What rendering produced: the files, and what was left out and why (for standard error).
pub struct Rendered {
    pub files: Vec<GeneratedFile>,
    pub skipped: Vec<String>,
}

/// Everything `generate` writes for `langs`, rendered in memory.
pub fn render_all(source: &Source, langs: &[Lang], options: &Options) -> Result<Rendered> {
    let package = Package::new(source, options)?;
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    // The corpus records what the Rust crate does, so it belongs to the built-in schemas only.
    let corpora: Vec<golden::Corpus> = package
        .protocols
        .iter()
        .filter_map(|p| {
            p.builtin.map(|builtin| golden::Corpus {
                builtin,
                ir: &p.ir,
                folder: p.folder(),
                provenance: p.provenance(&package),
            })
        })
        .collect();
    let mut golden = golden::render_corpora(&corpora)?.into_iter();
    for protocol in &package.protocols {
        let folder = protocol.folder();
        files.push(GeneratedFile::new(format!("{folder}schema.json"), protocol.schema_bytes.clone()));
        if protocol.builtin.is_some() {
            files.extend(golden.next().expect("a corpus per built-in schema"));
        }
    }
    if !package.has_runtime() {
        let without: Vec<&str> = package.protocols.iter().filter(|p| p.roles.is_none()).map(|p| p.ir.root.as_str()).collect();
        skipped.push(format!(
            "no runner runtime, CLI or registry: the schema of {} declares no runner roles (x-rrq-role); rendered the codec only (models, validators, canonical encoder, frame codec, README)",
            without.join(", ")
        ));
    }
    for lang in langs {
        files.extend(lang.render(&package)?);
    }
    Ok(Rendered { files, skipped })
}

#[cfg(test)]
mod tests {
    /// The corpus is built from each built-in protocol's IR as the package holds it (lowered
    /// from the schema file's bytes): the IR lowered from the version's schema itself.
    #[test]
    fn builtin_protocols_hold_the_ir_of_their_schema() {
        let package = super::Package::new(&super::Source::BuiltIn, &super::Options::default()).unwrap();
        for protocol in &package.protocols {
            let builtin = protocol.builtin.expect("a built-in protocol");
            assert_eq!(protocol.ir, crate::ir::lower(&builtin.schema()).unwrap(), "protocol {}", builtin.version);
        }
    }

    #[test]
    fn kebab_case_names() {
        assert_eq!(super::kebab_case("BillingMessage"), "billing-message");
        assert_eq!(super::kebab_case("My Schema_v2"), "my-schema-v2");
    }
}
