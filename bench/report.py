"""Combines the raw results of one ./bench.sh run into one JSON document and a Markdown report
(tables + the goals of issue 7, each marked met / missed and by how much).

    python report.py RUN_DIR OUT_BASENAME     # writes OUT_BASENAME.json and OUT_BASENAME.md
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any


def load(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def fmt_ratio(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}×"


def fmt_us(ns: float) -> str:
    return f"{ns / 1000:.2f} µs"


def codec_table(doc: dict[str, Any], lang: str) -> list[str]:
    lines: list[str] = []
    for key, entry in doc["results"].items():
        cases = entry["cases"]
        op, message = key.split("/")
        lines.append(f"\n**{lang} {op}, {message}** ({entry['bytes']} B frame)\n")
        lines.append("| codec | ratio to floor (median) | IQR of ratio | time per op |")
        lines.append("|---|---|---|---|")
        for name, c in cases.items():
            lines.append(
                f"| {name} | {fmt_ratio(c['ratio'])} | {c['ratio_q1']:.2f}–{c['ratio_q3']:.2f} | {fmt_us(c['ns_per_op'])} |"
            )
    return lines


# The floor of each runner: the raw echo of its language, in the same protocol version.
FLOORS = {"Python": "raw-py", "TypeScript": "raw-ts"}


def language_of(target: str) -> str | None:
    """The language of a runner label of ./bench.sh (None: no floor to compare with, e.g. rust-ref)."""
    if target in ("raw-py", "py") or target.startswith("py-"):
        return "Python"
    if target in ("raw-ts", "ts") or target.startswith(("ts-", "up-ts")):
        return "TypeScript"
    if target.startswith("up-"):  # RRQ's own Python runner from a PyPI wheel
        return "Python"
    return None


def floor_of(target: str) -> str | None:
    lang = language_of(target)
    return FLOORS.get(lang) if lang else None


def protocol_of(doc: dict[str, Any], r: dict[str, Any]) -> str:
    # Older documents carry one protocol for the whole run.
    return str(r.get("protocol", doc.get("protocol", "1")))


def load_index(doc: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(protocol_of(doc, r), r["target"], r["mode"]): r for r in doc["results"]}


def load_protocols(doc: dict[str, Any]) -> list[str]:
    return sorted({protocol_of(doc, r) for r in doc["results"]})


def vs_floor(idx: dict[tuple[str, str, str], dict[str, Any]], protocol: str, target: str, mode: str, key: str) -> float | None:
    """`key` of (target, mode) over the same of its floor in the same protocol version."""
    r = idx.get((protocol, target, mode))
    f = floor_of(target)
    b = idx.get((protocol, f, mode)) if f else None
    if r is None or b is None or b is r or not r["verified"] or not b["verified"]:
        return None
    x, y = r.get(key), b.get(key)
    if not isinstance(x, (int, float)) or not isinstance(y, (int, float)) or not y or math.isnan(x) or math.isnan(y):
        return None
    return float(x) / float(y)


def load_table(doc: dict[str, Any]) -> list[str]:
    idx = load_index(doc)
    modes = list(dict.fromkeys(r["mode"] for r in doc["results"]))
    lines = [
        "",
        f"{doc['rounds']} interleaved rounds × {doc['slice_ms']} ms per (mode, runner), both protocol versions' "
        f"runners in one rotation; pipelined window {doc['window']}.",
        "CPU = utime+stime of the runner's process group per request (clock ticks of "
        f"{1000 / doc['clock_ticks_per_s']:.0f} ms, summed over the run). Ratios (×) are to the raw echo "
        "floor of the same language in the same protocol version (raw-py: asyncio.Protocol + json; raw-ts: "
        "node:net + JSON); for req/s higher is better, for the rest lower is better.",
    ]
    for protocol in load_protocols(doc):
        here = list(dict.fromkeys(r["target"] for r in doc["results"] if protocol_of(doc, r) == protocol))
        lines += ["", f"### Protocol {protocol}", "", "Runner CPU per request × floor (µs per request):", "",
                  "| runner | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
        for t in here:
            cells = []
            for m in modes:
                r = idx.get((protocol, t, m))
                if r is None:
                    cells.append("")
                elif not r["verified"]:
                    cells.append("failed")
                else:
                    v = vs_floor(idx, protocol, t, m, "cpu_us_per_req")
                    cells.append(f"{fmt_ratio(v) + ' ' if v is not None else ''}({r['cpu_us_per_req']:.0f} µs)")
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
        lines += ["", "Requests/s × floor (req/s):", "",
                  "| runner | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
        for t in here:
            cells = []
            for m in modes:
                r = idx.get((protocol, t, m))
                if r is None:
                    cells.append("")
                elif not r["verified"]:
                    cells.append("failed")
                else:
                    v = vs_floor(idx, protocol, t, m, "rps")
                    cells.append(f"{fmt_ratio(v) + ' ' if v is not None else ''}({r['rps']:.0f})")
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "| mode | runner | req/s | × floor | p50 | × floor | p99 | × floor | runner CPU / req | × floor | runner CPU use | verified |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for mode in modes:
            for t in here:
                r = idx.get((protocol, t, mode))
                if r is None:
                    continue
                ratios = {k: fmt_ratio(vs_floor(idx, protocol, t, mode, k)) for k in ("rps", "p50_us", "p99_us", "cpu_us_per_req")}
                ok = "yes" if r["verified"] else f"NO: {r['error']}"
                lines.append(
                    f"| {mode} | {t} | {r['rps']:.0f} | {ratios['rps']} | {r['p50_us'] / 1000:.2f} ms | {ratios['p50_us']} | "
                    f"{r['p99_us'] / 1000:.2f} ms | {ratios['p99_us']} | {r['cpu_us_per_req']:.0f} µs | {ratios['cpu_us_per_req']} | "
                    f"{100 * r['runner_cpu_util']:.0f}% | {ok} ({r['requests']}) |"
                )
    return lines


class Goals:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, measure: str, value: float | None, goal: float, lower_is_better: bool, detail: str = "", unit: str = "×") -> None:
        if value is None or math.isnan(value):
            self.rows.append({"measure": measure, "value": None, "goal": goal, "met": None, "by": None, "detail": "not measured"})
            return
        met = value <= goal if lower_is_better else value >= goal
        by = value / goal if lower_is_better else goal / value
        self.rows.append(
            {"measure": measure, "value": value, "goal": goal, "lower_is_better": lower_is_better,
             "met": met, "by": by, "detail": detail, "unit": unit}
        )

    def table(self) -> list[str]:
        lines = ["| measure | measured | goal | verdict |", "|---|---|---|---|"]
        for g in self.rows:
            unit = g.get("unit", "×")
            if g["value"] is None:
                lines.append(f"| {g['measure']} | — | | not measured |")
                continue
            val = f"{g['value']:.2f}{unit}" if unit == "×" else f"{g['value']:.1f} {unit}"
            goal = ("≤ " if g["lower_is_better"] else "≥ ") + (f"{g['goal']}{unit}" if unit == "×" else f"{g['goal']} {unit}")
            if g["met"]:
                verdict = "**met**"
            elif g["lower_is_better"]:
                verdict = f"**missed** ({g['by']:.2f}× over the goal)"
            else:
                verdict = f"**missed** (goal is {g['by']:.2f}× higher)"
            if g["detail"]:
                verdict += f"; {g['detail']}"
            lines.append(f"| {g['measure']} | {val} | {goal} | {verdict} |")
        return lines


def ratio(doc: Any, key: str, case: str) -> float | None:
    try:
        return float(doc["results"][key]["cases"][case]["ratio"])
    except (KeyError, TypeError):
        return None


def main() -> None:
    run = Path(sys.argv[1])
    out = Path(sys.argv[2])
    meta = load(run / "meta.json") or {}
    py = load(run / "codec-py.json")
    ts = load(run / "codec-ts.json")
    ld = load(run / "load.json")
    cg = load(run / "codegen.json")

    goals = Goals()
    if py is not None:
        pd = ratio(py, "decode/request", "pydantic")
        ms = ratio(py, "decode/request", "msgspec")
        peers = f"pydantic {fmt_ratio(pd)}, msgspec {fmt_ratio(ms)}"
        # Issue 16: over samples like an orchestrator's (random UUIDs, trace contexts), protocol 1;
        # protocol 2's figures follow in the codec tables.
        goals.add("Python decode, request — stdlib mode (× json.loads)", ratio(py, "decode/request", "ours-stdlib"), 2.0, True, peers)
        goals.add("Python decode, request — accelerated (× json.loads)", ratio(py, "decode/request", "ours-accel"), 0.6, True, peers)
        goals.add("Python decode, request v2 — accelerated (× json.loads)", ratio(py, "decode/request-v2", "ours-accel"), 0.6, True,
                  f"stdlib {fmt_ratio(ratio(py, 'decode/request-v2', 'ours-stdlib'))}")
        pe = ratio(py, "encode/request", "pydantic")
        peers = f"pydantic {fmt_ratio(pe)}, msgspec {fmt_ratio(ratio(py, 'encode/request', 'msgspec'))}"
        goals.add("Python canonical encode, request — stdlib (× JSONEncoder)", ratio(py, "encode/request", "ours-stdlib"), 1.4, True, peers)
        goals.add("Python canonical encode, request — accelerated (× JSONEncoder)", ratio(py, "encode/request", "ours-accel"), 0.5, True, peers)
    if ts is not None:
        peers = ", ".join(f"{p} {fmt_ratio(ratio(ts, 'decode/request', p))}" for p in ("ajv", "zod", "valibot"))
        goals.add("TS decode, request (× JSON.parse)", ratio(ts, "decode/request", "ours"), 1.2, True,
                  f"exact parser forced: {fmt_ratio(ratio(ts, 'decode/request', 'ours-exact'))}; {peers}")
        goals.add("TS canonical encode, request (× JSON.stringify)", ratio(ts, "encode/request", "ours"), 1.1, True,
                  f"response: {fmt_ratio(ratio(ts, 'encode/response', 'ours'))}")
        if "decode/request-v2" in ts["results"]:
            peers = ", ".join(f"{p} {fmt_ratio(ratio(ts, 'decode/request-v2', p))}" for p in ("ajv", "zod", "valibot"))
            goals.add("TS decode, request v2 (× JSON.parse)", ratio(ts, "decode/request-v2", "ours"), 1.2, True,
                      f"exact parser forced: {fmt_ratio(ratio(ts, 'decode/request-v2', 'ours-exact'))}; {peers}")
            goals.add("TS canonical encode, request v2 (× JSON.stringify)", ratio(ts, "encode/request-v2", "ours"), 1.1, True,
                      f"response: {fmt_ratio(ratio(ts, 'encode/response-v2', 'ours'))}")
    if ld is not None:
        # Issue 16: runner CPU per request ≤ 1.3× (Python) / 1.15× (TypeScript) the floor in every
        # mode, pipelined req/s ≥ 0.8× / 0.9× the floor, in each protocol version.
        idx = load_index(ld)
        modes = list(dict.fromkeys(r["mode"] for r in ld["results"]))
        for protocol in load_protocols(ld):
            for lang, cpu_goal, rps_goal, targets in (("Python", 1.3, 0.8, ("py", "py-accel")), ("TS", 1.15, 0.9, ("ts",))):
                for t in targets:
                    for mode in modes:
                        a, b = idx.get((protocol, t, mode)), idx.get((protocol, floor_of(t) or "", mode))
                        if a is None or b is None:
                            continue
                        goals.add(f"{lang} runner CPU/request × floor — {t}, protocol {protocol}, {mode}",
                                  vs_floor(idx, protocol, t, mode, "cpu_us_per_req"), cpu_goal, True,
                                  f"{a['cpu_us_per_req']:.0f} vs {b['cpu_us_per_req']:.0f} µs")
                    a, b = idx.get((protocol, t, "pipelined")), idx.get((protocol, floor_of(t) or "", "pipelined"))
                    if a is not None and b is not None:
                        goals.add(f"{lang} runner req/s pipelined × floor — {t}, protocol {protocol}",
                                  vs_floor(idx, protocol, t, "pipelined", "rps"), rps_goal, False,
                                  f"{a['rps']:.0f} vs {b['rps']:.0f} req/s")
    if cg is not None:
        goals.add("codegen generate (release build, wall)", cg["generate_ms"], 100, True, unit="ms")
        goals.add("codegen check (release build, wall)", cg["check_ms"], 100, True, unit="ms")

    lines = [
        f"# rrq-codegen benchmarks ({'quick' if meta.get('quick') else 'full'} run)",
        "",
        f"- date: {meta.get('date', '?')}, commit {meta.get('commit', '?')}, wall time {meta.get('wall_s', '?')} s",
        f"- machine: {meta.get('nproc', '?')} CPUs, {meta.get('cpu', '?')}; load average at start {meta.get('load_start', '?')}, at end {meta.get('load_end', '?')} (shared machine)",
        f"- versions: {meta.get('versions', '?')}",
        "",
        "## Goals (issues 7 and 16), ratios measured in this run",
        "",
        *goals.table(),
    ]
    if py is not None:
        lines += ["", "## Python codec (ratio to the floor: json.loads / pre-built json.JSONEncoder)",
                  f"{py['rounds']} interleaved rounds, ~{py['batch_ms']} ms batches; Python {py['python']}, "
                  + ", ".join(f"{k} {v}" for k, v in py["versions"].items()) + "."]
        lines += codec_table(py, "Python")
    if ts is not None:
        lines += ["", "## TypeScript codec (ratio to the floor: JSON.parse / JSON.stringify)",
                  f"{ts['rounds']} interleaved rounds, ~{ts['batch_ms']} ms batches; Node {ts['node']}, "
                  + ", ".join(f"{k} {v}" for k, v in ts["versions"].items()) + "."]
        lines += codec_table(ts, "TypeScript")
    if ld is not None:
        lines += ["", "## Runner throughput (echo handler, every response verified)"]
        lines += load_table(ld)
    if cg is not None:
        lines += ["", "## Codegen (release build)", "",
                  f"`rrq-codegen generate --out TMP`: median {cg['generate_ms']:.1f} ms; "
                  f"`rrq-codegen check --out TMP`: median {cg['check_ms']:.1f} ms ({cg['runs']} runs each)."]
    doc = {"meta": meta, "goals": goals.rows, "codec_python": py, "codec_typescript": ts, "load": ld, "codegen": cg}
    out.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
