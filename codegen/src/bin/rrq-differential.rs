//! Differential fuzzing driver: generates inputs from the IR and records the Rust reference's
//! verdict for each, one line per input, for the other languages to replay:
//!
//! ```text
//! <base64 frame> <TAB> accept <TAB> <base64 canonical frame> <TAB> -
//! <base64 frame> <TAB> reject <TAB> <error kind> <TAB> <error path, or - for length/json>
//! ```
//!
//! `rrq-differential --seed 1 --count 20000 > inputs.tsv`; see `tests/differential/`.

use anyhow::Result;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Parser;
use rrq_codegen::fuzz::{Generator, Rng};
use std::io::Write;

/// Generate differential-fuzzing inputs with the Rust reference's verdicts.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Seed of the generator: the same seed gives the same inputs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of inputs.
    #[arg(long, default_value_t = 20_000)]
    count: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let ir = rrq_codegen::ir::lower(&rrq_codegen::schema::protocol_schema())?;
    let mut generator = Generator { ir: &ir, rng: Rng::new(args.seed) };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for _ in 0..args.count {
        let frame = generator.frame();
        let verdict = match rrq_protocol::decode_frame(&frame) {
            Ok(message) => format!("accept\t{}\t-", STANDARD.encode(rrq_protocol::encode_frame(&message)?)),
            Err(err) => {
                let path = match &err {
                    rrq_protocol::FrameError::Invalid(e) => e.path(),
                    _ => "-".to_string(),
                };
                format!("reject\t{}\t{path}", err.kind().as_str())
            }
        };
        writeln!(out, "{}\t{verdict}", STANDARD.encode(&frame))?;
    }
    out.flush()?;
    Ok(())
}
