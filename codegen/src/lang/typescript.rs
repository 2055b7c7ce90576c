//! TypeScript bindings (`generated/typescript/`): not rendered yet.

use crate::ir::Ir;
use crate::output::{GeneratedFile, Provenance};
use anyhow::Result;

pub fn render(_ir: &Ir, _provenance: &Provenance) -> Result<Vec<GeneratedFile>> {
    Ok(Vec::new())
}
