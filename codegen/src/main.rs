use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use rrq_codegen::lang::Lang;
use rrq_codegen::{ir, output, render_all, schema, Source};
use std::path::PathBuf;
use std::process::ExitCode;

/// Renders RRQ runner bindings (Python, TypeScript), the JSON Schema and the golden frame
/// corpus from the protocol defined by the `rrq-protocol` Rust types.
#[derive(Parser)]
#[command(name = "rrq-codegen", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Inputs {
    /// Render from this JSON Schema file instead of the built-in protocol schema (the golden
    /// corpus, which comes from the Rust crate, is then not rendered).
    #[arg(long, value_name = "FILE")]
    schema: Option<PathBuf>,
    /// Output folder: the files go to its schema/, golden/, python/ and typescript/ folders.
    #[arg(long, value_name = "DIR", default_value = "generated")]
    out: PathBuf,
    /// Languages to render, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Lang::ALL.to_vec())]
    lang: Vec<Lang>,
}

impl Inputs {
    fn source(&self) -> Result<Source> {
        Ok(match &self.schema {
            None => Source::BuiltIn,
            Some(path) => Source::File(schema::load(path)?.1),
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Write every generated file under the output folder, deleting files there that are no
    /// longer generated.
    Generate(Inputs),
    /// Regenerate in memory and compare with the output folder: exit 1 with a report of every
    /// STALE file (with a unified diff), every MISSING and every EXTRA file.
    Check(Inputs),
    /// Print the protocol's JSON Schema (draft 2020-12) to standard output.
    Schema,
    /// Print the language-neutral IR lowered from a schema, as JSON.
    Ir {
        /// Lower this JSON Schema file instead of the built-in one.
        #[arg(long, value_name = "FILE")]
        schema: Option<PathBuf>,
    },
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Generate(inputs) => {
            let files = render_all(&inputs.source()?, &inputs.lang)?;
            let written = output::write(&inputs.out, &files)
                .with_context(|| format!("writing under {}", inputs.out.display()))?;
            println!(
                "{} files generated under {} ({} changed)",
                files.len(),
                inputs.out.display(),
                written.len()
            );
        }
        Command::Check(inputs) => {
            let files = render_all(&inputs.source()?, &inputs.lang)?;
            let drift = output::check(&inputs.out, &files)?;
            if !drift.is_clean() {
                print!("{}", drift.report());
                eprintln!(
                    "{} is out of date: run `rrq-codegen generate` (or `cargo run -p rrq-codegen -- generate`)",
                    inputs.out.display()
                );
                return Ok(ExitCode::from(1));
            }
            println!("{} files up to date under {}", files.len(), inputs.out.display());
        }
        Command::Schema => {
            print!("{}", String::from_utf8(schema::to_file_bytes(&schema::protocol_schema()))?);
        }
        Command::Ir { schema: path } => {
            let value = match path {
                None => schema::protocol_schema(),
                Some(path) => schema::load(&path)?.0,
            };
            println!("{}", serde_json::to_string_pretty(&ir::lower(&value)?)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
