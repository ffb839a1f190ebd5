"""Turns the records of bench/run (results.jsonl + meta.json) into the performance page and its
PNG charts. Run by bench/run; by hand:

    python bench/suite/report.py --results bench/out/suite/results.jsonl \
        --meta bench/out/suite/meta.json --page docs/performance.md --charts docs/perf

Per group and workload: a chart (median with min..max) and a table of median [min..max] per
tool, effective GB/s where the record says how many bytes a sample moves, and the ratio to the
best peer (the fastest non-dtl tool of the same group, workload, size and rank count; records
marked "reference" are limits or floors and never count as peers). Every place where a dtl tool
is slower than the best peer is listed under "Where dtl loses", with the cause when
bench/suite/causes.md has a section `## group/workload` (or `## group/*`) for it.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import re
import statistics
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GROUP_ORDER = ["fused", "compile", "collectives", "seeds"]
HIGHER_IS_BETTER = {"GB/s", "MB/s", "GiB/s", "MiB/s", "Gflop/s", "op/s", "ops/s", "1/s"}


@dataclass
class Row:
    group: str
    workload: str
    title: str
    size: int | None
    size_unit: str
    ranks: int
    tool: str
    unit: str
    samples: list[float]
    checksum: float | None
    note: str
    bytes: float | None
    reference: bool
    detail: bool
    chart: str
    order: int
    med: float = field(init=False)
    lo: float = field(init=False)
    hi: float = field(init=False)

    def __post_init__(self) -> None:
        self.med = statistics.median(self.samples)
        self.lo = min(self.samples)
        self.hi = max(self.samples)

    @property
    def is_dtl(self) -> bool:
        return self.tool.lower().startswith("dtl")

    @property
    def higher_better(self) -> bool:
        return self.unit in HIGHER_IS_BETTER

    def better(self, other: Row) -> bool:
        return self.med > other.med if self.higher_better else self.med < other.med

    def gbps(self) -> float | None:
        if not self.bytes or self.unit not in ("ms", "us", "µs", "s", "ns"):
            return None
        secs = self.med * {"ms": 1e-3, "us": 1e-6, "µs": 1e-6, "s": 1.0, "ns": 1e-9}[self.unit]
        return self.bytes / secs / 1e9 if secs > 0 else None


def load(path: Path) -> tuple[list[Row], list[dict[str, Any]]]:
    rows: list[Row] = []
    other: list[dict[str, Any]] = []
    if not path.exists():
        return rows, other
    for i, line in enumerate(path.read_text().splitlines()):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            other.append({"kind": "bad", "why": f"line {i + 1}: {e}"})
            continue
        if r.get("kind") or "samples" not in r:
            other.append(r)
            continue
        samples = [float(x) for x in r.get("samples") or [] if x is not None and math.isfinite(float(x))]
        if not samples:
            other.append({"group": r.get("group"), "kind": "skipped", "tool": r.get("tool"),
                          "why": "no samples", "workload": r.get("workload")})
            continue
        rows.append(Row(
            group=str(r.get("group", "?")), workload=str(r.get("workload", "?")),
            title=str(r.get("title") or r.get("workload", "?")), size=r.get("size"),
            size_unit=str(r.get("size_unit") or ""), ranks=int(r.get("ranks") or 1),
            tool=str(r.get("tool", "?")), unit=str(r.get("unit", "")), samples=samples,
            checksum=r.get("checksum"), note=str(r.get("note") or ""), bytes=r.get("bytes"),
            reference=bool(r.get("reference")), detail=bool(r.get("detail")),
            chart=str(r.get("chart") or r.get("workload", "?")), order=i))
    return rows, other


# --- formatting -----------------------------------------------------------------------------

SUPER = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def fmt_size(size: int | None, unit: str) -> str:
    if size is None:
        return "–"
    if unit in ("B", "bytes", "byte"):
        for k, name in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
            if size >= 1 << k and size % (1 << k) == 0:
                return f"{size >> k} {name}"
        return f"{size} B"
    if size >= 1000:
        e = round(math.log10(size))
        if 10**e == size:
            return f"10{str(e).translate(SUPER)}" + (f" {unit}" if unit else "")
        m = size / 10**math.floor(math.log10(size))
        if abs(m - round(m, 1)) < 1e-9 and len(f"{round(m, 1):g}") <= 3:
            return f"{round(m, 1):g}·10{str(math.floor(math.log10(size))).translate(SUPER)}" + (f" {unit}" if unit else "")
    return f"{size:,}" + (f" {unit}" if unit else "")


def fmt_v(v: float) -> str:
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def slug(text: str) -> str:
    """GitHub's heading anchor."""
    s = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return s.replace(" ", "-")


def fmt_ratio(q: float) -> str:
    if q >= 100:
        return f"{q:.0f}×"
    if q >= 10:
        return f"{q:.1f}×"
    return f"{q:.2f}×" if q >= 0.1 else f"{q:.2g}×"


def overlap(a: Row, b: Row) -> bool:
    return a.lo <= b.hi and b.lo <= a.hi


def label(r: Row, multi_ranks: bool) -> str:
    return f"{r.tool} ×{r.ranks}" if multi_ranks or r.ranks > 1 else r.tool


# --- analysis ---------------------------------------------------------------------------------

def best_peers(rows: list[Row]) -> dict[tuple[str, str, Any, int], Row]:
    best: dict[tuple[str, str, Any, int], Row] = {}
    for r in rows:
        if r.is_dtl or r.reference:
            continue
        k = (r.group, r.workload, r.size, r.ranks)
        if k not in best or r.better(best[k]):
            best[k] = r
    return best


def ratio(r: Row, peer: Row) -> float:
    """> 1: r is slower (or lower throughput) than the peer."""
    if r.higher_better:
        return peer.med / r.med if r.med else math.inf
    return r.med / peer.med if peer.med else math.inf


def parse_causes(path: Path) -> tuple[str, dict[str, str]]:
    """The text of causes.md and its `## group/workload ...` headings -> anchors."""
    if not path.exists():
        return "", {}
    text = path.read_text()
    anchors: dict[str, str] = {}
    for m in re.finditer(r"^##\s+(.+?)\s*$", text, re.M):
        head = m.group(1)
        key = head.split()[0].strip("`:")
        if "/" in key:
            anchors.setdefault(key, slug(head))
    return text, anchors


def cause_link(anchors: dict[str, str], group: str, workload: str) -> str:
    keys = [k for k in dict.fromkeys((f"{group}/{workload}", f"{group}/{workload.split()[0]}", f"{group}/*"))
            if k in anchors]
    if keys:
        return "cause: " + ", ".join(f"[{k}](#{anchors[k]})" for k in keys)
    return "cause: not analysed yet (add a `## group/workload` section to `bench/suite/causes.md`)"


def group_doc(group: str) -> str:
    """The first paragraph of bench/suite/<group>.py's docstring."""
    p = HERE / f"{group}.py"
    if not p.exists():
        return ""
    try:
        doc = ast.get_docstring(ast.parse(p.read_text())) or ""
    except SyntaxError:
        return ""
    return doc.split("\n\n")[0].replace("\n", " ").strip()


# --- charts ---------------------------------------------------------------------------------

def chart(rows: list[Row], path: Path, title: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter, NullLocator
    except ImportError:
        return False
    workloads = sorted({r.workload for r in rows}, key=lambda w: min(r.order for r in rows if r.workload == w))
    sizes = sorted({r.size for r in rows if r.size is not None})
    multi_ranks = len({r.ranks for r in rows}) > 1
    unit = rows[0].unit
    if len(sizes) >= 3:
        # One line per tool over the sizes.
        fig, ax = plt.subplots(figsize=(9, 5.5))
        series: dict[tuple[str, int], list[Row]] = defaultdict(list)
        for r in rows:
            series[r.tool, r.ranks].append(r)
        keys = sorted(series, key=lambda k: (not k[0].lower().startswith("dtl"), k[0], k[1]))
        for k in keys:
            s = sorted(series[k], key=lambda r: r.size or 0)
            x = [r.size for r in s]
            y = [r.med for r in s]
            err = [[r.med - r.lo for r in s], [r.hi - r.med for r in s]]
            dtl = k[0].lower().startswith("dtl")
            ax.errorbar(x, y, yerr=err, marker="o" if dtl else "s", ms=4 if dtl else 3,
                        lw=2.2 if dtl else 1.2, ls="--" if s[0].reference else "-", capsize=2,
                        label=label(s[0], multi_ranks))
        span_x = max(sizes) / max(min(sizes), 1e-300)
        if span_x >= 100:
            ax.set_xscale("log", base=2 if rows[0].size_unit in ("B", "bytes") else 10)
        ys = [r.lo for r in rows if r.lo > 0] + [r.hi for r in rows]
        if ys and min(ys) > 0 and max(ys) / min(ys) >= 30:
            ax.set_yscale("log")
        su = rows[0].size_unit
        if len(sizes) <= 12:
            ax.set_xticks(sizes)
            ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_size(int(v), su) if v >= 1 else f"{v:g}"))
        ax.set_xlabel(f"size ({su})" if su else "size")
        ax.set_ylabel(f"median {unit}, bars: min..max")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        ax.set_title(textwrap.fill(title, 90), fontsize=11)
    else:
        # One panel of horizontal bars per size and rank count (the ratio's unit of comparison).
        panels = sorted({(r.workload, r.size, r.ranks) for r in rows},
                        key=lambda k: (workloads.index(k[0]), k[1] if k[1] is not None else -1, k[2]))
        per = {k: sorted([r for r in rows if (r.workload, r.size, r.ranks) == k], key=lambda r: r.med)
               for k in panels}
        best = best_peers(rows)
        nbars = sum(len(v) for v in per.values())
        fig, axes = plt.subplots(len(panels), 1, figsize=(9, 0.6 + 0.3 * nbars + 0.75 * len(panels)),
                                 squeeze=False,
                                 gridspec_kw={"height_ratios": [len(per[k]) + 1.5 for k in panels]})
        vals_all = [r.lo for r in rows if r.lo > 0] + [r.hi for r in rows]
        logx = bool(vals_all) and min(vals_all) > 0 and max(vals_all) / min(vals_all) >= 30
        for ax, k in zip(axes[:, 0], panels):
            rs = per[k]
            y = list(range(len(rs)))
            colors = ["#1f77b4" if r.is_dtl else ("#bbbbbb" if r.reference else "#ff7f0e") for r in rs]
            ax.barh(y, [r.med for r in rs], color=colors,
                    xerr=[[r.med - r.lo for r in rs], [r.hi - r.med for r in rs]],
                    error_kw={"capsize": 2, "elinewidth": 0.8})
            ax.set_yticks(y)
            ax.set_yticklabels([r.tool + (" (reference)" if r.reference else "") for r in rs], fontsize=8)
            ax.invert_yaxis()
            peer = best.get((rs[0].group, k[0], k[1], k[2]))
            for yi, r in zip(y, rs):
                txt = fmt_v(r.med)
                if peer is not None and not r.reference and r is not peer:
                    txt += f"  ({fmt_ratio(ratio(r, peer))})"
                ax.text(r.hi, yi, "  " + txt, va="center", fontsize=7)
            if logx:
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(FuncFormatter(
                    lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "25" else ""))
                ax.tick_params(axis="x", which="minor", labelsize=7)
            ax.set_xlim(right=ax.get_xlim()[1] * (3 if logx else 1.25))
            ax.grid(True, axis="x", which="both", alpha=0.3)
            where = []
            if k[1] is not None:
                where.append(f"n = {fmt_size(k[1], rs[0].size_unit)}")
            if multi_ranks or k[2] > 1:
                where.append(f"{k[2]} rank{'s' if k[2] > 1 else ''} or threads")
            head = title if len(workloads) == 1 else f"{k[0]}: {rs[0].title}"
            ax.set_title(textwrap.fill(head + (" — " + ", ".join(where) if where else ""), 95), fontsize=10)
        axes[-1, 0].set_xlabel(f"{unit}: median, bars min..max, (ratio to the best peer); "
                               "blue dtl, orange peers, grey references (limits, floors)", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def summary_chart(points: list[tuple[str, float, bool]], path: Path) -> bool:
    """One bar per (group, workload, size, ranks): best dtl median over best peer median."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(9, 1.0 + 0.22 * len(points)))
    y = list(range(len(points)))
    colors = ["#2ca02c" if q < 1 else ("#f2b8b5" if ov else "#d62728") for _, q, ov in points]
    ax.barh(y, [math.log2(q) for _, q, _ in points], color=colors)
    ax.set_yticks(y)
    ax.set_yticklabels([name for name, _, _ in points], fontsize=7)
    ax.axvline(0, color="black", lw=0.8)
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda v, _: f"{2 ** v:g}×" if v >= 0 else f"1/{2 ** -v:g}×"))
    ax.set_ylim(len(points) - 0.5, -0.5)
    ax.set_xlabel("best dtl median / best peer median (log scale; left of 1×: dtl faster)\n"
                  "green: dtl faster; red: dtl slower; pink: slower, but the min..max ranges overlap",
                  fontsize=8)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title("dtl against the best peer, every workload, size and rank count", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# --- the page -------------------------------------------------------------------------------

def machine_section(meta: dict[str, Any]) -> list[str]:
    out = []
    m = meta.get("machine", {})
    out.append(f"- Command: `{meta.get('command', 'bench/run')}` (mode {meta.get('mode', '?')})")
    out.append(f"- Date: {meta.get('date_start', '?')} to {meta.get('date_end', '?')} UTC; "
               f"wall time of the run {meta.get('wall_s', 0):.0f} s")
    out.append(f"- Machine: {m.get('cores', '?')} cores, {m.get('cpu', '?')}, "
               f"{m.get('mem_gib', '?')} GiB memory, {m.get('os', '?')}")
    out.append(f"- Load average (1/5/15 min) at the start: {meta.get('load_start', '?')}; "
               f"at the end: {meta.get('load_end', '?')}")
    if meta.get("commit"):
        out.append(f"- dtl commit: `{meta['commit']}`")
    out.append("")
    vers = meta.get("versions", {})
    if vers:
        out.append("| software | version |")
        out.append("|---|---|")
        for k, v in vers.items():
            out.append(f"| {k} | {v} |")
        out.append("")
    groups = meta.get("groups", {})
    older = [g for g, i in groups.items() if str(i.get("date", "")) < str(meta.get("date_start", ""))]
    if older:
        out.append(f"The groups {', '.join(sorted(older))} were not run by this command: their figures "
                   "are from the earlier run dated in this table.")
        out.append("")
    if groups:
        out.append("| group | status | wall time | load at start | load at end | date |")
        out.append("|---|---|---|---|---|---|")
        for g in sorted(groups, key=lambda g: (GROUP_ORDER.index(g) if g in GROUP_ORDER else 99, g)):
            i = groups[g]
            st = i.get("status", "?")
            out.append(f"| {g} | {st} | {i.get('wall_s', 0):.0f} s | {i.get('load_start', '?')} | "
                       f"{i.get('load_end', '?')} | {i.get('date', '?')} |")
        out.append("")
    return out


def write_page(rows: list[Row], other: list[dict[str, Any]], meta: dict[str, Any], page: Path,
               charts: Path, causes_path: Path) -> None:
    best = best_peers(rows)
    causes, anchors = parse_causes(causes_path)
    rel = os.path.relpath(charts, page.parent)
    groups = sorted({r.group for r in rows} | {o.get("group") for o in other if o.get("group")},
                    key=lambda g: (GROUP_ORDER.index(g) if g in GROUP_ORDER else 99, g))

    L: list[str] = []
    L.append("# Performance")
    L.append("")
    L.append("<!-- GENERATED by bench/run (bench/suite/report.py) from bench/out/suite/results.jsonl."
             " Do not edit by hand: edit bench/suite/*.py or bench/suite/causes.md and rerun. -->")
    L.append("")
    notes = os.path.relpath(ROOT / "docs" / "performance-notes.md", page.parent)
    readme = os.path.relpath(ROOT / "bench" / "README.md", page.parent)
    L.append("**This page is generated by `bench/run` and must not be edited by hand.** "
             "It measures dtl and its peers in the same run on the same machine; rerun "
             "`bench/run` to regenerate it (and `docs/perf/*.png`). The hand-written notes per issue "
             f"(#2..#6) are in [performance-notes.md]({notes}); how the suite works is in "
             f"[bench/README.md]({readme}).")
    L.append("")
    L.append("## The run")
    L.append("")
    L += machine_section(meta)
    L.append("How to read the figures: each figure is the median of its samples (every sample after "
             "a warm-up; the sample count is in the table) with [min..max]. *ratio* is the tool's median "
             "over the best peer's median for the same workload, size and rank count (> 1: slower "
             "than the best peer; for throughputs the inverse). *ranks* counts ranks or threads: a "
             "2-rank dtl figure is compared with the 2-thread and 2-process peers. dtl tools are in "
             "**bold**; *limit/floor* rows (the STREAM triad, an empty interpreter) are references, "
             "never peers. *GB/s* is the effective bandwidth: bytes read and written per pass "
             "(STREAM's convention, no write-allocate traffic) over the median time. Checksums of "
             "every tool agreed (within the group's stated tolerance) before any timing; "
             "disagreements are listed under *Skipped, failed, mismatched*.")
    L.append("")

    # Summary and losses.
    keys = sorted({(r.group, r.workload, r.size, r.ranks) for r in rows},
                  key=lambda k: (GROUP_ORDER.index(k[0]) if k[0] in GROUP_ORDER else 99, k[0],
                                 min(r.order for r in rows if (r.group, r.workload) == k[:2]),
                                 k[2] if k[2] is not None else -1, k[3]))
    summary = []
    losses = []
    points: list[tuple[str, float, bool]] = []
    for k in keys:
        dtls = [r for r in rows if (r.group, r.workload, r.size, r.ranks) == k and r.is_dtl]
        main_dtls = [r for r in dtls if not r.detail] or dtls
        peer = best.get(k)
        if not dtls:
            continue
        bd = min(main_dtls, key=lambda r: -r.med if r.higher_better else r.med)
        if peer:
            q = ratio(bd, peer)
            where = ([fmt_size(k[2], bd.size_unit)] if k[2] is not None else []) + [f"{k[3]} rank{'s' if k[3] > 1 else ''}"]
            points.append((f"{k[0]} / {k[1]}, " + ", ".join(where), q, overlap(bd, peer)))
            verdict = "dtl faster" if q < 1 else "**dtl slower**"
            if overlap(bd, peer):
                verdict += " (ranges overlap)"
            summary.append(f"| {k[0]} | {k[1]} | {fmt_size(k[2], bd.size_unit)} | {k[3]} | "
                           f"{bd.tool}: {fmt_v(bd.med)} {bd.unit} | {peer.tool}: {fmt_v(peer.med)} {peer.unit} | "
                           f"{fmt_ratio(q)} | {verdict} |")
        else:
            summary.append(f"| {k[0]} | {k[1]} | {fmt_size(k[2], bd.size_unit)} | {k[3]} | "
                           f"{bd.tool}: {fmt_v(bd.med)} {bd.unit} | (no peer ran) | – | – |")
        if peer:
            for r in dtls:
                q = ratio(r, peer)
                if q > 1:
                    losses.append((k, r, peer, q))
    L.append("## Summary: the best dtl tool against the best peer")
    L.append("")
    if points and summary_chart(points, charts / "summary.png"):
        L.append(f"![summary]({rel}/summary.png)")
        L.append("")
    if summary:
        L.append("| group | workload | size | ranks | best dtl | best peer | ratio | |")
        L.append("|---|---|---|---|---|---|---|---|")
        L += summary
    else:
        L.append("No results.")
    L.append("")
    L.append("## Where dtl loses")
    L.append("")
    if losses:
        L.append("Every dtl figure slower than the best peer of its workload, size and rank count "
                 "(listed automatically; the causes are hand-written in `bench/suite/causes.md` and "
                 "reproduced at the end of this page):")
        L.append("")
        for k, r, peer, q in losses:
            L.append(f"- {k[0]} / {k[1]}, {fmt_size(k[2], r.size_unit)}, {k[3]} rank{'s' if k[3] > 1 else ''}: "
                     f"**{r.tool}** {fmt_v(r.med)} {r.unit} vs {peer.tool} {fmt_v(peer.med)} {peer.unit} "
                     f"→ {fmt_ratio(q)} slower{' (within noise: the min..max ranges overlap)' if overlap(r, peer) else ''}; "
                     f"{cause_link(anchors, k[0], k[1])}")
    else:
        L.append("Nowhere in this run: every dtl figure is at least as fast as the best peer.")
    L.append("")

    # Groups.
    for g in groups:
        grows = [r for r in rows if r.group == g]
        L.append(f"## Group `{g}`")
        L.append("")
        doc = group_doc(g)
        if doc:
            L.append(doc + f" (`bench/suite/{g}.py`)")
            L.append("")
        if not grows:
            L.append("No figures from this group in this run (see *Skipped, failed, mismatched*).")
            L.append("")
            continue
        wls = sorted({r.workload for r in grows}, key=lambda w: min(r.order for r in grows if r.workload == w))
        drawn: set[str] = set()
        for w in wls:
            wrows = [r for r in grows if r.workload == w]
            title = wrows[0].title
            L.append(f"### {g} / {w}: {title}")
            L.append("")
            # Workloads that share a chart key share one figure of bars (lines: one per workload).
            def key_of(wl: str) -> str:
                rs = [r for r in grows if r.workload == wl]
                return f"{wl}" if len({r.size for r in rs}) >= 3 else rs[0].chart

            key = key_of(w)
            crows = [r for r in grows if key_of(r.workload) == key]
            if key not in drawn:
                drawn.add(key)
                png = charts / f"{g}_{re.sub(r'[^A-Za-z0-9]+', '_', key).strip('_')}.png"
                if chart(crows, png, f"{g} / {w}: {title}"):
                    L.append(f"![{g} / {key}]({rel}/{png.name})")
                else:
                    L.append("(no chart: matplotlib is not installed)")
                L.append("")
            elif len({r.workload for r in crows}) > 1:
                L.append(f"(in the chart of *{g} / {crows[0].workload}* above)")
                L.append("")
            has_gb = any(r.gbps() for r in wrows)
            L.append("| size | ranks | tool | median | [min..max] | n | " + ("GB/s | " if has_gb else "")
                     + "ratio to best peer | note |")
            L.append("|---|---|---|---|---|---|" + ("---|" if has_gb else "") + "---|---|")
            for r in sorted(wrows, key=lambda r: (r.size if r.size is not None else -1, r.ranks,
                                                  -r.med if r.higher_better else r.med)):
                peer = best.get((r.group, r.workload, r.size, r.ranks))
                if r.reference:
                    q = "limit/floor"
                elif peer is None:
                    q = "–"
                elif peer is r:
                    q = "1.00 (best peer)"
                else:
                    q = fmt_ratio(ratio(r, peer))
                name = f"**{r.tool}**" if r.is_dtl else (f"*{r.tool}*" if r.reference else r.tool)
                gb = r.gbps()
                cells = [fmt_size(r.size, r.size_unit), str(r.ranks), name,
                         f"{fmt_v(r.med)} {r.unit}", f"[{fmt_v(r.lo)}..{fmt_v(r.hi)}]", str(len(r.samples))]
                if has_gb:
                    cells.append(f"{gb:.1f}" if gb else "–")
                cells += [q, r.note.replace("|", "\\|")]
                L.append("| " + " | ".join(cells) + " |")
            L.append("")

    # Skipped and mismatches.
    L.append("## Skipped, failed, mismatched")
    L.append("")
    if other:
        for o in other:
            kind = o.get("kind", "?")
            if kind == "mismatch":
                L.append(f"- **mismatch** in {o.get('group')} / {o.get('workload')} "
                         f"({fmt_size(o.get('size'), '')}): {o.get('why', '')}")
            elif kind == "skipped":
                wl = f" / {o['workload']}" if o.get("workload") else ""
                L.append(f"- skipped: {o.get('group')}{wl}: {o.get('tool')}: {o.get('why', '')}")
            else:
                L.append(f"- {kind}: {o.get('group', '')}: {o.get('why', json.dumps(o))}")
    else:
        L.append("Nothing: every tool of every group ran and agreed.")
    L.append("")
    L.append("## Causes (hand-written: `bench/suite/causes.md`)")
    L.append("")
    if causes:
        text = re.sub(r"^# .*\n", "", causes, count=1)  # its own title
        text = re.sub(r"^(#+) ", r"#\1 ", text, flags=re.M)  # one level below the page's
        L.append(text.strip())
    else:
        L.append("(bench/suite/causes.md is missing)")
    L.append("")
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text("\n".join(L))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", default=str(ROOT / "bench/out/suite/results.jsonl"))
    p.add_argument("--meta", default=None)
    p.add_argument("--page", default=str(ROOT / "docs/performance.md"))
    p.add_argument("--charts", default=None, help="directory of the PNGs (default: perf/ next to the page)")
    p.add_argument("--causes", default=str(HERE / "causes.md"))
    a = p.parse_args()
    results = Path(a.results)
    meta_path = Path(a.meta) if a.meta else results.parent / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    page = Path(a.page)
    charts = Path(a.charts) if a.charts else page.parent / "perf"
    rows, other = load(results)
    if charts.exists():
        for old in charts.glob("*.png"):
            old.unlink()
    write_page(rows, other, meta, page, charts, Path(a.causes))
    print(f"wrote {page} and {len(list(charts.glob('*.png'))) if charts.exists() else 0} charts in {charts}")


if __name__ == "__main__":
    main()
