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


def load_index(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["target"], r["mode"]): r for r in doc["results"]}


def load_table(doc: dict[str, Any]) -> list[str]:
    idx = load_index(doc)
    targets = list(dict.fromkeys(r["target"] for r in doc["results"]))
    modes = list(dict.fromkeys(r["mode"] for r in doc["results"]))
    lines = [
        "",
        f"{doc['rounds']} interleaved rounds × {doc['slice_ms']} ms per (mode, runner); pipelined window {doc['window']}.",
        "CPU = utime+stime of the runner's process group per request (clock ticks of "
        f"{1000 / doc['clock_ticks_per_s']:.0f} ms, summed over the run).",
        "",
        "| mode | runner | req/s | p50 | p99 | runner CPU / req | CPU vs raw | runner CPU use | verified |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mode in modes:
        for t in targets:
            r = idx.get((t, mode))
            if r is None:
                continue
            raw = idx.get((raw_of(t), mode))
            vs = (
                r["cpu_us_per_req"] / raw["cpu_us_per_req"]
                if raw is not None and raw is not r and raw["cpu_us_per_req"] > 0
                else None
            )
            ok = "yes" if r["verified"] else f"NO: {r['error']}"
            lines.append(
                f"| {mode} | {t} | {r['rps']:.0f} | {r['p50_us'] / 1000:.2f} ms | {r['p99_us'] / 1000:.2f} ms | "
                f"{r['cpu_us_per_req']:.0f} µs | {fmt_ratio(vs) if vs is not None else '—'} | "
                f"{100 * r['runner_cpu_util']:.0f}% | {ok} ({r['requests']}) |"
            )
    return lines


def raw_of(target: str) -> str:
    if target.startswith("py"):
        return "raw-py"
    if target.startswith("ts"):
        return "raw-ts"
    return target


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
    if ld is not None:
        idx = load_index(ld)
        modes = list(dict.fromkeys(r["mode"] for r in ld["results"]))
        for lang, raw, goal, targets in (("Python", "raw-py", 1.3, ("py", "py-accel")), ("TS", "raw-ts", 1.15, ("ts",))):
            for t in targets:
                for mode in modes:
                    a, b = idx.get((t, mode)), idx.get((raw, mode))
                    if a is None or b is None:
                        continue
                    v = a["cpu_us_per_req"] / b["cpu_us_per_req"] if a["verified"] and b["verified"] and b["cpu_us_per_req"] else None
                    goals.add(f"{lang} runner CPU/request vs raw echo — {t}, {mode}", v, goal, True,
                              f"{a['cpu_us_per_req']:.0f} vs {b['cpu_us_per_req']:.0f} µs")
        for t in ("py", "py-accel"):
            a, b = idx.get((t, "conns16")), idx.get(("raw-py", "conns16"))
            if a is not None and b is not None:
                goals.add(f"Python runner req/s, 16 connections, vs raw — {t}", a["rps"] / b["rps"] if b["rps"] else None,
                          0.75, False, f"{a['rps']:.0f} vs {b['rps']:.0f} req/s")
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
