use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use rrq_codegen::lang::Lang;
use rrq_codegen::{diff, ir, output, render_all, schema, Options, Source};
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
    /// Render from this JSON Schema file instead of the built-in protocol schemas; repeat it
    /// for a package serving several protocol versions (each schema must then declare
    /// `x-rrq.protocol_version`; the last is the latest). The golden corpus, which comes from
    /// the Rust crate, is then not rendered; a schema without runner roles (`x-rrq-role`) gets
    /// the codec only.
    #[arg(long, value_name = "FILE")]
    schema: Vec<PathBuf>,
    /// The package's name (kebab case, e.g. `billing-runner`): by default the schema's
    /// `x-rrq.package_name`, else its `title` in kebab case.
    #[arg(long, value_name = "NAME")]
    package: Option<String>,
    /// Output folder: the files go to its schema/, golden/, python/ and typescript/ folders.
    #[arg(long, value_name = "DIR", default_value = "generated")]
    out: PathBuf,
    /// Languages to render, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Lang::ALL.to_vec())]
    lang: Vec<Lang>,
}

impl Inputs {
    fn source(&self) -> Result<Source> {
        if self.schema.is_empty() {
            return Ok(Source::BuiltIn);
        }
        Ok(Source::Files(self.schema.iter().map(|path| Ok(schema::load(path)?.1)).collect::<Result<_>>()?))
    }

    fn render(&self) -> Result<Vec<output::GeneratedFile>> {
        let rendered = render_all(&self.source()?, &self.lang, &Options { package: self.package.clone() })?;
        for note in &rendered.skipped {
            eprintln!("note: {note}");
        }
        Ok(rendered.files)
    }
}

/// The built-in schema of `version`, or the latest's.
fn builtin_schema(version: Option<&str>) -> Result<serde_json::Value> {
    match version {
        None => Ok(schema::latest_schema()),
        Some(v) => schema::builtin_version(v).map(|b| b.schema()).ok_or_else(|| {
            let known: Vec<&str> = schema::builtins().iter().map(|b| b.version).collect();
            anyhow::anyhow!("no built-in protocol version `{v}` (built in: {})", known.join(", "))
        }),
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
    /// Print a built-in protocol version's JSON Schema (draft 2020-12) to standard output.
    Schema {
        /// The protocol version (default: the latest).
        #[arg(long, value_name = "VERSION")]
        protocol: Option<String>,
    },
    /// Print the language-neutral IR lowered from a schema, as JSON.
    Ir {
        /// Lower this JSON Schema file instead of a built-in one.
        #[arg(long, value_name = "FILE", conflicts_with = "protocol")]
        schema: Option<PathBuf>,
        /// The built-in protocol version to lower (default: the latest).
        #[arg(long, value_name = "VERSION")]
        protocol: Option<String>,
    },
    /// Compare two protocol schemas and judge every change for compatibility.
    ///
    /// Both schemas are lowered to the IR and compared: fields added (optional, required, with
    /// a default) or removed, suspected renames, fields made required or optional, nullable or
    /// not, written always or omitted when empty, defaults, types, integer bounds, enum values,
    /// union tags, types added or removed, field order, frame limits, protocol and package
    /// versions. Any schema the generator accepts can be compared, with or without `x-rrq`
    /// metadata (versions and frame limits are compared where both schemas declare them).
    ///
    /// Each change gets two verdicts, because a message is written by one side and read by the
    /// other and either side may be the newer one in a rolling upgrade:
    /// `new→old` (written by the new version, read by the old one) and `old→new` (written by
    /// the old version, read by the new one). Each change names its JSON pointer (into the new
    /// schema, or the old one for removals), the messages it affects and, when breaking, the
    /// rules that failed.
    ///
    /// Rule sets (--rules): `wire` asks only whether the reader decodes what the writer sends;
    /// `strict` (the default, the release check) adds: no data loss (a field one side sends
    /// with data and the other ignores, or reads as a default because the data travels in a
    /// field it does not know), no suspected rename (a removed and an added field of
    /// compatible types), no narrowing (new readers reject nothing old readers accepted). A new
    /// protocol_version is breaking by definition; the changes under it are still listed. The
    /// rules are in docs/COMPATIBILITY.md.
    ///
    /// Exit status: 0 when nothing is breaking (or with --allow-breaking), 1 when a change is
    /// breaking in either direction, 2 on an error (unreadable or unsupported schema).
    ///
    /// Release check: `rrq-codegen diff --rules strict generated/v<N>/history/<latest>.schema.json`.
    #[command(long_about)]
    Diff {
        /// The older schema, e.g. generated/v1/history/0.1.0.schema.json.
        #[arg(value_name = "OLD_SCHEMA")]
        old: PathBuf,
        /// The newer schema; when omitted, the built-in schema of OLD's protocol version (the
        /// latest when OLD declares none or one that is not built in).
        #[arg(value_name = "NEW_SCHEMA")]
        new: Option<PathBuf>,
        /// Output format: a report for people, or JSON for machines.
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
        /// The rules that make a change breaking: `strict` (wire, and no data loss, rename or
        /// narrowing) or `wire` (decoding only).
        #[arg(long, value_enum, default_value_t = DiffRules::Strict)]
        rules: DiffRules,
        /// Exit 0 even when a change is breaking: for a major version (bump protocol_version).
        #[arg(long)]
        allow_breaking: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DiffRules {
    /// The wire rules, and no data loss, no suspected rename, no narrowing (the release check).
    Strict,
    /// Will the other side decode it: absence, null, meaning of absence, values, frame limits,
    /// protocol version.
    Wire,
}

impl From<DiffRules> for diff::Rules {
    fn from(rules: DiffRules) -> Self {
        match rules {
            DiffRules::Strict => diff::Rules::Strict,
            DiffRules::Wire => diff::Rules::Wire,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DiffFormat {
    /// One line per change, with the reasons of breaking verdicts and a summary.
    Text,
    /// One JSON object: the rule set, both versions, `breaking`, and `changes` with category,
    /// pointer, schema (old/new), detail, affects and the two verdicts (with the rules that
    /// failed).
    Json,
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Generate(inputs) => {
            let files = inputs.render()?;
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
            let files = inputs.render()?;
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
        Command::Schema { protocol } => {
            print!("{}", String::from_utf8(schema::to_file_bytes(&builtin_schema(protocol.as_deref())?))?);
        }
        Command::Ir { schema: path, protocol } => {
            let value = match path {
                None => builtin_schema(protocol.as_deref())?,
                Some(path) => schema::load(&path)?.0,
            };
            println!("{}", serde_json::to_string_pretty(&ir::lower(&value)?)?);
        }
        Command::Diff { old, new, format, rules, allow_breaking } => {
            let old_schema = schema::load(&old)?.0;
            let (new_schema, new_label) = match &new {
                None => {
                    let version = old_schema.pointer("/x-rrq/protocol_version").and_then(|v| v.as_str());
                    match version.and_then(schema::builtin_version) {
                        Some(b) => (b.schema(), format!("built-in protocol {} schema", b.version)),
                        None => (schema::latest_schema(), "built-in latest protocol schema".to_string()),
                    }
                }
                Some(path) => (schema::load(path)?.0, path.display().to_string()),
            };
            let report = diff::diff(&old_schema, &new_schema, rules.into())?;
            let old_label = old.display().to_string();
            match format {
                DiffFormat::Text => print!("{}", report.to_text(&old_label, &new_label)),
                DiffFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&report.to_json(&old_label, &new_label))?)
                }
            }
            if report.is_breaking() {
                if allow_breaking {
                    eprintln!("breaking changes allowed (--allow-breaking)");
                } else {
                    let why = if report.protocol_version_change().is_some() {
                        "a new protocol_version is breaking by definition: release it with --allow-breaking"
                    } else if !report.is_breaking_under(diff::Rules::Wire) {
                        "breaking changes under the strict rules (data loss, suspected rename or narrowing; the wire \
                         rules alone pass): keep the fields and their wire names, or release the change as a new \
                         protocol version (then pass --allow-breaking)"
                    } else {
                        "breaking changes: release them only as a new protocol version (then pass --allow-breaking)"
                    };
                    eprintln!("{why}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The corpus checks decode, encode and re-parse megabyte frames many times over (on two
/// threads): with glibc's allocator, fresh pages and copies of growing buffers took about a
/// third of `generate`'s time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
