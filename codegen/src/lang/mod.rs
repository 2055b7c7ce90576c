//! Target languages. Each maps IR types to its own types and names, fills askama template
//! structs with the result, and returns the rendered files; the templates (under
//! `templates/<language>/`) hold only the language's idiom.

use crate::ir::Ir;
use crate::output::{GeneratedFile, Provenance};
use anyhow::Result;

pub mod python;
pub mod typescript;

/// A language the generator renders bindings for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Lang {
    Python,
    Typescript,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Python, Lang::Typescript];

    /// Renders this language's package; paths start with the language's folder name.
    pub fn render(self, ir: &Ir, provenance: &Provenance) -> Result<Vec<GeneratedFile>> {
        match self {
            Lang::Python => python::render(ir, provenance),
            Lang::Typescript => typescript::render(ir, provenance),
        }
    }
}
