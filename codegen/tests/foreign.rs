//! A schema written by someone else: a team's own protocol (`BillingMessage`), with no `x-rrq` at
//! all and no runner roles, built from the supported constructs (`u64`/`i64` at their limits, an
//! enum, nested arrays, maps, a nullable timestamp with nanoseconds, a renamed field).
//!
//! The test derives its schema (as `rrq-codegen` would from these Rust types), renders the
//! packages from the schema file alone, and writes frames made by serde (Rust) beside them. The
//! Python package is checked here with the interpreter's standard library (it needs nothing
//! else): every Rust-made frame decodes and re-encodes to exactly its bytes. `tests/foreign/run.sh`
//! also type-checks both packages (mypy --strict, tsc --strict) and replays the frames through
//! TypeScript; it sets `RRQ_FOREIGN_OUT` to keep what this test writes.

use chrono::{DateTime, TimeZone, Utc};
use rrq_codegen::lang::Lang;
use rrq_codegen::{render_all, Options, Source};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// How an invoice is paid.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum PaymentMethod {
    /// By card.
    Card,
    /// By bank transfer.
    BankTransfer,
}

/// One line of an invoice.
#[derive(Serialize, JsonSchema)]
struct Line {
    /// What is sold.
    sku: String,
    /// How many, at most `u64::MAX`.
    quantity: u64,
    /// Unit price in cents; negative for a discount.
    unit_cents: i64,
}

/// An invoice to charge.
#[derive(Serialize, JsonSchema)]
struct Invoice {
    /// The invoice's id.
    id: String,
    /// The lines, grouped in sections.
    sections: Vec<Vec<Line>>,
    /// Totals by currency.
    totals: BTreeMap<String, i64>,
    /// Free-form labels by name.
    #[serde(default)]
    labels: BTreeMap<String, Vec<String>>,
    /// How it is paid (a renamed field: `type` on the wire).
    #[serde(rename = "type")]
    method: PaymentMethod,
    /// When it is due; `null` when it is not.
    due: Option<DateTime<Utc>>,
    /// A note, left out when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

/// A receipt for a charged invoice.
#[derive(Serialize, JsonSchema)]
struct Receipt {
    /// The invoice charged.
    invoice_id: String,
    /// When it was charged.
    charged_at: DateTime<Utc>,
}

/// A frame of the billing protocol.
#[derive(Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum BillingMessage {
    /// Charge an invoice.
    Charge {
        /// The invoice.
        body: Invoice,
    },
    /// An invoice was charged.
    Charged {
        /// The receipt.
        body: Receipt,
    },
}

fn frame(message: &BillingMessage) -> Vec<u8> {
    let body = serde_json::to_vec(message).unwrap();
    [(body.len() as u32).to_be_bytes().to_vec(), body].concat()
}

fn messages() -> Vec<BillingMessage> {
    let at = |secs, nanos| Utc.timestamp_opt(secs, nanos).unwrap();
    let line = |sku: &str, quantity, unit_cents| Line { sku: sku.into(), quantity, unit_cents };
    vec![
        BillingMessage::Charge {
            body: Invoice {
                id: "inv-1".into(),
                sections: vec![vec![line("a", 1, 250), line("ünï ☃ 😀", u64::MAX, i64::MIN)], vec![], vec![line("b", 0, i64::MAX)]],
                totals: BTreeMap::from([("EUR".to_string(), -5), ("USD".to_string(), 9_007_199_254_740_993)]),
                labels: BTreeMap::from([("z".to_string(), vec![]), ("a b".to_string(), vec!["x".into(), "\"q\"\n".into()])]),
                method: PaymentMethod::BankTransfer,
                due: Some(at(1_714_564_800, 123_456_789)),
                note: Some("net 30".into()),
            },
        },
        BillingMessage::Charge {
            body: Invoice {
                id: String::new(),
                sections: vec![],
                totals: BTreeMap::new(),
                labels: BTreeMap::new(),
                method: PaymentMethod::Card,
                due: None,
                note: None,
            },
        },
        BillingMessage::Charged { body: Receipt { invoice_id: "inv-1".into(), charged_at: at(253_402_300_799, 999_999_999) } },
        BillingMessage::Charged { body: Receipt { invoice_id: "inv-2".into(), charged_at: at(0, 1_000) } },
    ]
}

const ROUND_TRIP: &str = r#"
import base64, sys
sys.path.insert(0, sys.argv[1])
import billing_message as b
frames = [base64.b64decode(line) for line in open(sys.argv[2]).read().split()]
for frame in frames:
    message = b.decode_frame(frame)
    again = b.encode_frame(message)
    assert again == frame, (frame, again)
charge = b.decode_frame(frames[0]).body
assert charge.type is b.PaymentMethod.BANK_TRANSFER
assert charge.sections[0][1].quantity == 2**64 - 1 and charge.sections[0][1].unit_cents == -2**63
assert charge.due is not None and charge.due.nanosecond == 789
try:
    b.decode_message(frames[0][4:].replace(b'"quantity":1,', b'"quantity":-1,'))
except b.FrameError as error:
    assert error.path == "body.sections[0][0].quantity", error.path
else:
    raise AssertionError("a negative u64 was accepted")
assert not hasattr(b, "Registry"), "no runtime without roles"
print(f"python: {len(frames)} Rust-made frames round-trip byte for byte")
"#;

#[test]
fn a_foreign_schema_without_x_rrq_renders_a_codec_that_round_trips_rust_frames() {
    let keep = std::env::var_os("RRQ_FOREIGN_OUT");
    let scratch = tempfile::tempdir().unwrap();
    let out = keep.as_deref().map(Path::new).unwrap_or(scratch.path());
    std::fs::create_dir_all(out).unwrap();

    let schema = rrq_codegen::schema::schema_of::<BillingMessage>();
    assert!(schema.get("x-rrq").is_none());
    let bytes = rrq_codegen::schema::to_file_bytes(&schema);
    std::fs::write(out.join("billing.schema.json"), &bytes).unwrap();
    let frames: Vec<String> = messages().iter().map(|m| rrq_codegen::golden::base64_encode(&frame(m))).collect();
    std::fs::write(out.join("frames.txt"), frames.join("\n") + "\n").unwrap();

    let rendered = render_all(&Source::Files(vec![bytes]), &Lang::ALL, &Options::default()).unwrap();
    assert_eq!(rendered.skipped.len(), 1, "says what it left out: {:?}", rendered.skipped);
    assert!(rendered.skipped[0].contains("no runner roles"), "{}", rendered.skipped[0]);
    let paths: Vec<String> = rendered.files.iter().map(|f| f.path.display().to_string()).collect();
    assert!(paths.iter().any(|p| p == "python/billing_message/_codec.py"), "{paths:?}");
    assert!(!paths.iter().any(|p| p.contains("_runtime") || p.contains("__main__")), "codec only: {paths:?}");
    assert!(!paths.iter().any(|p| p.contains("rrq_runner") || p.contains("rrq-runner")), "{paths:?}");
    assert!(!paths.iter().any(|p| p.contains("golden")), "{paths:?}");
    rrq_codegen::output::write(&out.join("gen"), &rendered.files).unwrap();

    let status = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .args(["-c", ROUND_TRIP])
        .arg(out.join("gen/python"))
        .arg(out.join("frames.txt"))
        .status()
        .expect("python3 runs");
    assert!(status.success(), "the Python round trip failed");
}
