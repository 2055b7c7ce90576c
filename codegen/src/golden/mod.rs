//! The golden frame corpus (`generated/golden/`): not written yet.

use crate::output::{GeneratedFile, Provenance};
use anyhow::Result;

pub fn render(_provenance: &Provenance) -> Result<Vec<GeneratedFile>> {
    Ok(Vec::new())
}
