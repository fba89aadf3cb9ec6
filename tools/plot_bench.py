#!/usr/bin/env python3
"""Plots Canvass's benchmark results as PNGs for docs/PERFORMANCE.md.

Reads Google Benchmark JSON (`--benchmark_format=json` or `--benchmark_out=FILE`) from
canvass_bench and canvass_counters_bench, and bench/peers/results.json, and writes:

  counters_threads.png   ballots/s against threads per counter design (BM_Counters_*),
                         oversubscribed points hollow on a shaded band, beside the
                         same-run memory-read bandwidth and naive loop
  ingest_threads.png     input bytes/s against threads for BM_Ingest_Csv, BM_Ingest_Cvb,
                         BM_EndToEnd_Run and aggregation over batches with exactly-once,
                         with the same-run BM_Memory_ReadBandwidth at 1 and 2 threads
  ingest_variants.png    the same four, one panel each, every station shape x exactly-once
  scale_sweep.png        BM_Scale_*: time and memory against ballots, log-log
  peers.png              bench/peers/results.json: rows/s of Canvass, DuckDB and SQLite

Usage:
  tools/plot_bench.py --core core.json [scale.json ...] --counters counters.json \
      --peers bench/peers/results.json --out docs/img

Every input is optional: a missing file or benchmark family skips its plot with a message.
With repetitions, the median aggregate is used (or the median of the repetitions).
Needs matplotlib: apt-get install python3-matplotlib (Debian's package serves
/usr/bin/python3; this script re-runs itself under it when another python3 lacks it).
"""

import argparse
import json
import math
import os
import re
import statistics
import sys


def ImportMatplotlib():
    """Returns pyplot, re-running under Debian's /usr/bin/python3 if this Python lacks it."""
    try:
        import matplotlib
    except ImportError:
        system_python = "/usr/bin/python3"
        if (os.path.exists(system_python) and os.path.realpath(sys.executable) !=
                os.path.realpath(system_python) and not os.environ.get("PLOT_BENCH_REEXEC")):
            os.environ["PLOT_BENCH_REEXEC"] = "1"
            os.execv(system_python, [system_python] + sys.argv)
        sys.exit("plot_bench: matplotlib is missing; install it with:\n"
                 "  apt-get install python3-matplotlib\n"
                 "and run this script with /usr/bin/python3")
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot
    from matplotlib import ticker
    return pyplot, ticker


plt, ticker = ImportMatplotlib()

SECONDS_PER_UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
# Name parts Google Benchmark adds that are not arguments of the benchmark.
RUN_OPTIONS = ("real_time", "manual_time", "process_time")
RUN_OPTION_PREFIXES = ("iterations:", "repeats:", "min_time:", "min_warmup_time:")
METRICS = ("real_time", "items_per_second", "bytes_per_second")


def Note(message):
    print(f"plot_bench: {message}", file=sys.stderr)


def SiLabel(value, unit=""):
    """1.5e9 -> '1.5 G' + unit; for tick labels and bar labels."""
    if value == 0:
        return f"0 {unit}".strip()
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}".strip()


def SecondsLabel(value):
    if value >= 1:
        return f"{value:.3g} s"
    if value >= 1e-3:
        return f"{value * 1e3:.3g} ms"
    return f"{value * 1e6:.3g} µs"


def UseFormatter(axis, function, subs=(1.0, 2.0, 5.0)):
    """Labels a log axis at `subs` times each power of ten (by default 1, 2 and 5, so that
    a range narrower than a decade still gets labels)."""
    axis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: function(value)))
    axis.set_minor_formatter(ticker.NullFormatter())


class Run:
    """One benchmark instance: family, arguments and its (median) metrics and counters."""

    def __init__(self, name, entry):
        parts = name.split("/")
        self.name = name
        self.family = parts[0]
        self.params = {}       # named arguments: threads:2 -> {"threads": 2}
        self.positional = []   # unnamed arguments: BM_X/2 -> [2]
        for part in parts[1:]:
            if part in RUN_OPTIONS or part.startswith(RUN_OPTION_PREFIXES):
                continue
            key, _, value = part.rpartition(":")
            number = float(value) if re.fullmatch(r"-?\d+(\.\d+)?", value) else value
            if key:
                self.params[key] = number
            else:
                self.positional.append(number)
        self.values = entry  # metrics and counters, already reduced to one value each

    def Get(self, key, default=None):
        value = self.values.get(key, default)
        return value if isinstance(value, (int, float)) else default

    @property
    def seconds(self):
        unit = self.values.get("time_unit", "ns")
        return self.Get("real_time", 0.0) * SECONDS_PER_UNIT.get(unit, 1e-9)

    @property
    def threads(self):
        """Named threads:N, else the first unnamed argument, else the 'threads' counter."""
        if "threads" in self.params:
            return int(self.params["threads"])
        if self.positional and not self.family.startswith("BM_Scale_"):
            return int(self.positional[0])
        return int(self.Get("threads", 1))

    @property
    def oversubscribed(self):
        return self.family.endswith("_Oversubscribed") or self.Get("oversubscribed", 0) > 0


class BenchmarkFile:
    """Google Benchmark JSON: its context and one Run per benchmark instance."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as file:
            root = json.load(file)
        self.path = path
        self.context = root.get("context", {})
        groups = {}  # run name -> {"median": entry} or {"iterations": [entries]}
        for entry in root.get("benchmarks", []):
            if entry.get("error_occurred"):
                Note(f"{path}: {entry.get('name')}: skipped, it reported an error: "
                     f"{entry.get('error_message', '')}")
                continue
            run_name = entry.get("run_name") or re.sub(
                r"_(mean|median|stddev|cv)$", "", entry.get("name", ""))
            group = groups.setdefault(run_name, {"median": None, "iterations": []})
            if entry.get("run_type") == "aggregate":
                if entry.get("aggregate_name") == "median":
                    group["median"] = entry
            else:
                group["iterations"].append(entry)
        self.runs = []
        for run_name, group in groups.items():
            entry = group["median"] or self.MedianOf(group["iterations"])
            if entry:
                self.runs.append(Run(run_name, entry))

    @staticmethod
    def MedianOf(entries):
        if not entries:
            return None
        reduced = dict(entries[0])
        for key, value in entries[0].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values = [e[key] for e in entries if isinstance(e.get(key), (int, float))]
                reduced[key] = statistics.median(values)
        return reduced

    def Family(self, family):
        return [run for run in self.runs if run.family == family]

    def Subtitle(self):
        context = self.context
        load = context.get("load_avg") or []
        parts = [context.get("date", "")[:16].replace("T", " "),
                 f"{context.get('num_cpus', '?')} CPUs at {context.get('mhz_per_cpu', '?')} MHz"]
        if load:
            parts.append("load average at start " + " ".join(f"{x:.1f}" for x in load))
        return ", ".join(p for p in parts if p)


def LoadBenchmarks(paths, what):
    """Merges the given Google Benchmark files; returns None (with a message) if none load."""
    if not paths:
        Note(f"no {what} file given: skipping its plots")
        return None
    loaded = []
    for path in paths:
        if not os.path.exists(path):
            Note(f"{path}: not found: skipping it")
            continue
        try:
            loaded.append(BenchmarkFile(path))
        except (OSError, ValueError) as error:
            Note(f"{path}: not Google Benchmark JSON ({error}): skipping it")
    if not loaded:
        return None
    merged = loaded[0]
    for other in loaded[1:]:
        names = {run.name for run in other.runs}
        merged.runs = [run for run in merged.runs if run.name not in names] + other.runs
    return merged


def Save(figure, out_directory, name):
    path = os.path.join(out_directory, name)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    print(f"plot_bench: wrote {path}")


def Title(axes_or_figure, title, subtitle):
    text = f"{title}\n{subtitle}" if subtitle else title
    if hasattr(axes_or_figure, "suptitle"):
        axes_or_figure.suptitle(text, fontsize=11)
    else:
        axes_or_figure.set_title(text, fontsize=11)


def ThreadAxis(axes, threads):
    axes.set_xscale("log", base=2)
    axes.set_xticks(sorted(threads))
    axes.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axes.xaxis.set_minor_formatter(ticker.NullFormatter())
    axes.set_xlabel("threads")


# ---- (a) counter designs ----

def PlotCounters(data, out_directory):
    designs = {}  # design -> [Run]
    for run in data.runs:
        if run.family.startswith("BM_Counters_") and run.Get("items_per_second"):
            design = run.family[len("BM_Counters_"):].removesuffix("_Oversubscribed")
            designs.setdefault(design, []).append(run)
    if not designs:
        Note(f"{data.path}: no BM_Counters_* benchmarks: skipping counters_threads.png")
        return
    hardware_threads = int(data.context.get("num_cpus", 0)) or None
    figure, axes = plt.subplots(figsize=(10, 6))
    colors = plt.get_cmap("tab20").colors
    markers = "osD^v<>ph*"
    all_threads = set()
    ordered = sorted(designs.items(),
                     key=lambda item: -max(r.Get("items_per_second") for r in item[1]))
    for index, (design, runs) in enumerate(ordered):
        runs.sort(key=lambda run: run.threads)
        color = colors[(2 * index) % len(colors)]
        marker = markers[index % len(markers)]
        xs = [run.threads for run in runs]
        ys = [run.Get("items_per_second") for run in runs]
        all_threads.update(xs)
        fitting = [(x, y) for run, x, y in zip(runs, xs, ys) if not run.oversubscribed]
        over = [(x, y) for run, x, y in zip(runs, xs, ys) if run.oversubscribed]
        axes.plot(xs, ys, color=color, linestyle=":", linewidth=1)
        if fitting:
            axes.plot(*zip(*fitting), color=color, marker=marker, linewidth=2, label=design)
        if over:
            axes.plot(*zip(*over), color=color, marker=marker, markerfacecolor="white",
                      linestyle="none", label=None if fitting else design)
    for family, style, label in (
            ("BM_Memory_ReadBandwidth", "--", "baseline: memory-read bandwidth (1 byte per ballot)"),
            ("BM_Naive_SingleThreadLoop", "-.", "baseline: naive single-thread loop")):
        runs = sorted((r for r in data.Family(family) if r.Get("items_per_second")),
                      key=lambda run: run.threads)
        if not runs:
            continue
        if len(runs) == 1:
            axes.axhline(runs[0].Get("items_per_second"), color="black", linestyle=style,
                         linewidth=1.2, label=label)
        else:
            axes.plot([r.threads for r in runs], [r.Get("items_per_second") for r in runs],
                      color="black", linestyle=style, marker="x", linewidth=1.2, label=label)
    if hardware_threads and max(all_threads) > hardware_threads:
        axes.axvspan(hardware_threads * 1.25, max(all_threads) * 1.3, color="0.92", zorder=0)
        axes.text(hardware_threads * 1.3, 0.98, f"oversubscribed: more threads than the\n"
                  f"{hardware_threads} hardware threads (hollow markers)",
                  transform=axes.get_xaxis_transform(), fontsize=8, color="0.3", va="top")
    ThreadAxis(axes, all_threads)
    axes.set_xlim(min(all_threads) / 1.3, max(all_threads) * 1.3)
    axes.set_yscale("log")
    UseFormatter(axes.yaxis, lambda v: SiLabel(v, "/s"))
    axes.set_ylabel("ballots counted per second (log scale)")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="design")
    ballots = [r.Get("items_per_second") * r.seconds for r in data.runs
               if r.family.startswith("BM_Counters_") and r.Get("items_per_second")]
    size = f"{SiLabel(statistics.median(ballots))} ballots per pass, " if ballots else ""
    Title(axes, "Counting ballots per choice: throughput by counter design",
          size + data.Subtitle())
    Save(figure, out_directory, "counters_threads.png")


# ---- (b) ingest paths ----

INGEST_FAMILIES = (
    ("BM_Ingest_Csv", "CSV files (file bytes)"),
    ("BM_Ingest_Cvb", "cvb files (file bytes)"),
    ("BM_Ingest_CvbLarge", "cvb files at 10x the scale (file bytes)"),
    ("BM_EndToEnd_Run", "generate + aggregate, fused (9 bytes per ballot)"),
    ("BM_Aggregate_ExactlyOnce", "aggregate pre-generated batches (9 bytes per ballot)"),
    ("BM_Aggregate_Batches", "aggregate pre-generated batches (9 bytes per ballot)"),
)


def VariantLabel(run):
    shape = {0: "skewed stations", 1: "uniform stations"}.get(run.params.get("uniform"))
    once = {0: "count only", 1: "exactly-once"}.get(run.params.get("exactly_once"))
    return ", ".join(x for x in (shape, once) if x) or "default"


def IsDefaultVariant(run):
    """The reference election as shipped: skewed stations, with exactly-once."""
    return run.params.get("uniform", 0) == 0 and run.params.get("exactly_once", 1) == 1


def IngestFamilies(data):
    found = []
    for family, label in INGEST_FAMILIES:
        runs = [r for r in data.Family(family) if r.Get("bytes_per_second")]
        if runs and not any(label == other for _, other, _ in found):
            found.append((family, label, runs))
    return found


def BandwidthLines(axes, data):
    runs = sorted((r for r in data.Family("BM_Memory_ReadBandwidth") if r.Get("bytes_per_second")),
                  key=lambda run: run.threads)
    styles = ["--", ":", "-."]
    for index, run in enumerate(runs):
        value = run.Get("bytes_per_second")
        axes.axhline(value, color="black", linestyle=styles[index % len(styles)], linewidth=1.2,
                     label=f"memory-read bandwidth, {run.threads} thread"
                           f"{'s' if run.threads != 1 else ''} ({SiLabel(value, 'B/s')})")
    return bool(runs)


def PlotIngest(data, out_directory):
    families = IngestFamilies(data)
    if not families:
        Note(f"{data.path}: no BM_Ingest_*, BM_EndToEnd_Run or BM_Aggregate_* benchmarks: "
             "skipping ingest_threads.png and ingest_variants.png")
        return
    figure, axes = plt.subplots(figsize=(9, 5.5))
    threads = set()
    for index, (family, label, runs) in enumerate(families):
        runs = sorted((r for r in runs if IsDefaultVariant(r)), key=lambda run: run.threads)
        if not runs:
            continue
        xs = [run.threads for run in runs]
        threads.update(xs)
        line, = axes.plot(xs, [r.Get("bytes_per_second") for r in runs], marker="o", linewidth=2,
                          label=f"{family}: {label}")
        for run in runs:
            axes.annotate(SiLabel(run.Get("bytes_per_second"), "B/s"),
                          (run.threads, run.Get("bytes_per_second")), textcoords="offset points",
                          xytext=(6, 4 if index % 2 else -10), fontsize=7,
                          color=line.get_color())
    if not BandwidthLines(axes, data):
        Note(f"{data.path}: no BM_Memory_ReadBandwidth: ingest_threads.png has no bandwidth line")
    ThreadAxis(axes, threads)
    axes.set_xlim(min(threads) / 1.25, max(threads) * 1.6)
    axes.set_yscale("log")
    UseFormatter(axes.yaxis, lambda v: SiLabel(v, "B/s"))
    axes.set_ylabel("input bytes per second (log scale)")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    Title(axes, "Ingest throughput against threads: the reference election's skewed stations, "
          "exactly-once", data.Subtitle())
    Save(figure, out_directory, "ingest_threads.png")

    variants_shown = [f for f in families if len({VariantLabel(r) for r in f[2]}) > 1]
    if not variants_shown:
        Note(f"{data.path}: no station-shape or exactly-once variants: skipping ingest_variants.png")
        return
    columns = 2
    rows = math.ceil(len(variants_shown) / columns)
    figure, grid = plt.subplots(rows, columns, figsize=(11, 4 * rows), squeeze=False)
    for axes, (family, label, runs) in zip(grid.flat, variants_shown):
        variants = {}
        for run in runs:
            variants.setdefault(VariantLabel(run), []).append(run)
        for variant, members in sorted(variants.items()):
            members.sort(key=lambda run: run.threads)
            axes.plot([r.threads for r in members], [r.Get("bytes_per_second") for r in members],
                      marker="o", label=variant,
                      linestyle="-" if "exactly-once" in variant else "--")
        BandwidthLines(axes, data)
        ThreadAxis(axes, {r.threads for r in runs})
        axes.set_yscale("log")
        UseFormatter(axes.yaxis, lambda v: SiLabel(v, "B/s"))
        axes.set_ylabel("input bytes/s (log)")
        axes.set_title(f"{family}\n{label}", fontsize=9)
        axes.grid(True, which="major", alpha=0.3)
    for axes in list(grid.flat)[len(variants_shown):]:
        axes.set_visible(False)
    Title(figure, "Ingest throughput by station shape and exactly-once", data.Subtitle())
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    handles, labels = grid.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
    Save(figure, out_directory, "ingest_variants.png")


# ---- (c) scale sweep ----

def PlotScale(data, out_directory):
    families = {}
    for run in data.runs:
        if run.family.startswith("BM_Scale_") and run.seconds > 0:
            families.setdefault(run.family, []).append(run)
    if not families:
        Note(f"{data.path}: no BM_Scale_* benchmarks: skipping scale_sweep.png")
        return

    def Ballots(run):
        if run.Get("ballots"):
            return run.Get("ballots")  # the exact count; the argument is rounded to a scale
        return run.params.get("ballots") or (run.positional[0] if run.positional else 0)

    figure, (time_axes, memory_axes) = plt.subplots(1, 2, figsize=(12, 5))
    has_memory = False
    for family, runs in sorted(families.items()):
        runs = sorted((r for r in runs if Ballots(r)), key=Ballots)
        if not runs:
            continue
        xs = [Ballots(r) for r in runs]
        line, = time_axes.plot(xs, [r.seconds for r in runs], marker="o", linewidth=2,
                               label=f"{family} ({runs[-1].threads} threads)")
        largest = runs[-1]
        time_axes.plot(xs, [largest.seconds * x / Ballots(largest) for x in xs],
                       color=line.get_color(), linestyle=":", linewidth=1,
                       label="linear in ballots, through the largest point")
        for run in runs:
            if run.Get("items_per_second"):
                time_axes.annotate(SiLabel(run.Get("items_per_second"), "/s"),
                                   (Ballots(run), run.seconds), textcoords="offset points",
                                   xytext=(-10, 8), fontsize=7, color=line.get_color())
        for counter, style, label in (("peak_rss_bytes", "-", "peak resident memory of the process"),
                                      ("state_bytes", "--", "exactly-once state")):
            points = [(Ballots(r), r.Get(counter)) for r in runs if r.Get(counter)]
            if points:
                has_memory = True
                memory_axes.plot(*zip(*points), marker="o", linestyle=style, linewidth=2,
                                 label=f"{family}: {label}")
    time_axes.set_xscale("log")
    time_axes.set_yscale("log")
    time_axes.margins(y=0.12)  # room for the ballots/s labels
    UseFormatter(time_axes.xaxis, SiLabel, subs=(1.0,))
    UseFormatter(time_axes.yaxis, SecondsLabel)
    time_axes.set_xlabel("ballots (log scale)")
    time_axes.set_ylabel("wall time per run (log scale); labels: ballots/s")
    time_axes.set_title("Time against ballots", fontsize=10)
    time_axes.grid(True, which="major", alpha=0.3)
    time_axes.legend(fontsize=8)
    if has_memory:
        memory_axes.set_xscale("log")
        memory_axes.set_yscale("log")
        UseFormatter(memory_axes.xaxis, SiLabel, subs=(1.0,))
        UseFormatter(memory_axes.yaxis, lambda v: SiLabel(v, "B"))
        memory_axes.set_xlabel("ballots (log scale)")
        memory_axes.set_ylabel("bytes (log scale)")
        memory_axes.set_title("Memory against ballots (peak RSS is the process's so far)",
                              fontsize=10)
        memory_axes.grid(True, which="major", alpha=0.3)
        memory_axes.legend(fontsize=8)
    else:
        Note(f"{data.path}: BM_Scale_* has no peak_rss_bytes or state_bytes counter: "
             "memory panel left empty")
        memory_axes.set_visible(False)
    Title(figure, "Scale sweep", data.Subtitle())
    figure.tight_layout()
    Save(figure, out_directory, "scale_sweep.png")


# ---- (d) peers ----

def PlotPeers(path, out_directory):
    if not path:
        Note("no --peers file given: skipping peers.png")
        return
    if not os.path.exists(path):
        Note(f"{path}: not found (run bench/peers/run_peers.sh): skipping peers.png")
        return
    try:
        with open(path, encoding="utf-8") as file:
            root = json.load(file)
        results = root["results"]
        rows = root["rows"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        Note(f"{path}: not a run_peers.sh results file ({error}): skipping peers.png")
        return
    tool_colors = {"Canvass": "tab:blue", "DuckDB": "tab:orange", "SQLite": "tab:green"}
    labels = [f"{r['tool']}, {r['threads']} thread{'s' if r['threads'] != 1 else ''}: {r['what']}"
              for r in results]
    values = [r["rows_per_second"] for r in results]
    figure, axes = plt.subplots(figsize=(10, 0.5 * len(results) + 1.8))
    positions = range(len(results))[::-1]
    axes.barh(list(positions), values,
              color=[tool_colors.get(r["tool"], "tab:gray") for r in results])
    axes.set_yticks(list(positions))
    axes.set_yticklabels(labels, fontsize=8)
    for position, result, value in zip(positions, results, values):
        ratio = result.get("canvass_over_peer")
        text = f"{SiLabel(value, ' rows/s')}, {result['seconds']:.3g} s"
        if ratio:
            text += f"  (Canvass {ratio:.1f}x)"
        axes.text(value * 1.05, position, text, va="center", fontsize=8)
    axes.set_xscale("log")
    axes.set_xlim(min(values) / 2, max(values) * 5)
    UseFormatter(axes.xaxis, lambda v: SiLabel(v, "/s"))
    axes.set_xlabel("rows per second (log scale; median wall time, see results.md for what "
                    "each includes)")
    versions = root.get("versions", {})
    subtitle = (f"{rows:,} rows, {root.get('file_bytes', 0) / 1e6:,.0f} MB CSV; "
                f"{root.get('date', '')}; DuckDB {versions.get('duckdb', '?').split(' ')[0]}, "
                f"SQLite {versions.get('sqlite3', '?').split(' ')[0]}")
    Title(axes, "One ballot CSV: Canvass against DuckDB and SQLite", subtitle)
    axes.grid(True, axis="x", which="major", alpha=0.3)
    Save(figure, out_directory, "peers.png")


def Main():
    parser = argparse.ArgumentParser(
        description="Plot Canvass benchmark JSON as PNGs (see the module docstring).")
    parser.add_argument("--core", nargs="+", default=[], metavar="JSON",
                        help="canvass_bench JSON files (merged), e.g. core.json scale.json")
    parser.add_argument("--counters", nargs="+", default=[], metavar="JSON",
                        help="canvass_counters_bench JSON")
    parser.add_argument("--peers", metavar="JSON", help="bench/peers/results.json")
    parser.add_argument("--out", default="docs/img", help="output folder (default docs/img)")
    arguments = parser.parse_args()
    os.makedirs(arguments.out, exist_ok=True)
    counters = LoadBenchmarks(arguments.counters, "--counters")
    if counters:
        PlotCounters(counters, arguments.out)
    core = LoadBenchmarks(arguments.core, "--core")
    if core:
        PlotIngest(core, arguments.out)
        PlotScale(core, arguments.out)
    PlotPeers(arguments.peers, arguments.out)


if __name__ == "__main__":
    Main()
