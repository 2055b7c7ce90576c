//! `rrq-codegen`: renders RRQ runner bindings from the protocol's JSON Schema.
//!
//! The pipeline, one module per step: [`schema`] (the JSON Schema, derived from `rrq-protocol`
//! or read from a file) → [`ir`] (lowered to a language-neutral IR) → [`lang`] (one module per
//! target language, rendering askama templates) → [`output`] (files with a provenance header,
//! written or checked). [`golden`] adds the golden frame corpus, produced by running the Rust
//! reference implementation.

pub mod fuzz;
pub mod diff;
pub mod golden;
pub mod ir;
pub mod lang;
pub mod output;
pub mod schema;

use anyhow::Result;
use lang::Lang;
use output::{GeneratedFile, Provenance};
use sha2::{Digest, Sha256};

/// Path of the committed schema under the output folder.
pub const SCHEMA_PATH: &str = "schema/rrq-protocol.schema.json";

/// The schema to generate from: the built-in one (from `rrq-protocol`) or a file's bytes.
pub enum Source {
    BuiltIn,
    File(Vec<u8>),
}

/// Everything `generate` writes for `langs`, rendered in memory.
pub fn render_all(source: &Source, langs: &[Lang]) -> Result<Vec<GeneratedFile>> {
    let (schema, bytes) = match source {
        Source::BuiltIn => {
            let schema = schema::protocol_schema();
            let bytes = schema::to_file_bytes(&schema);
            (schema, bytes)
        }
        Source::File(bytes) => (serde_json::from_slice(bytes)?, bytes.clone()),
    };
    let ir = ir::lower(&schema)?;
    let provenance = Provenance {
        generator_version: env!("CARGO_PKG_VERSION").to_string(),
        protocol_version: ir.meta.protocol_version.clone(),
        schema_sha256: format!("{:x}", Sha256::digest(&bytes)),
    };
    let mut files = vec![GeneratedFile::new(SCHEMA_PATH, bytes)];
    if matches!(source, Source::BuiltIn) {
        // The corpus records what the Rust crate does, so it belongs to the built-in schema only.
        files.extend(golden::render(&provenance)?);
    }
    for lang in langs {
        files.extend(lang.render(&ir, &provenance)?);
    }
    Ok(files)
}
