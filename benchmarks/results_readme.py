"""Writes the measured numbers and the table schemas into the docs, so neither is copied
by hand.

1. benchmarks/results/README.md, from the results files beside it
   (benchmarks/results/*.json, and a line for each hand-written *.md there): for each,
   which benchmark and command made it, when (its measured_at), on which machine, and its
   headline numbers and targets, met or not. This part reads JSON only.
2. The schema section of docs/tables.md, between its marker comments, from SCHEMAS in
   the package's tables module (pyarrow schemas; the comments above a table or a column in
   that module are its description). This part imports the tables module (pyarrow,
   pandas), nothing else of the package's weight.

Run it after every benchmark and after a change to a table's schema;
dance_assets_tests/test_docs.py fails while either file differs from what it writes.

    python benchmarks/results_readme.py            # writes both
    python benchmarks/results_readme.py --check    # writes nothing; exit 1 when stale
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
RESULTS_README = RESULTS / "README.md"
TABLES_DOC = ROOT / "docs" / "tables.md"
SELF = "python benchmarks/results_readme.py"
BEGIN = f"<!-- schemas: begin. Written by `{SELF}` from SCHEMAS; do not edit by hand. -->"
END = "<!-- schemas: end -->"

# Commands for the results files that do not record their own (newer benchmarks write
# theirs into the file, which wins).
COMMANDS = {
    "extract.json": "python benchmarks/extract.py",
    "fan_out.json": "python benchmarks/fan_out.py",
    "lr.json": "python benchmarks/lr.py --lake <demo lake> --seeds 3",
    "pose.json": "python benchmarks/pose.py --lake <demo lake>",
    "pose-seed2.json": "python benchmarks/pose.py --lake <seed-2 lake> "
                       "--out benchmarks/results/pose-seed2.json",
    "scale.json": "python benchmarks/scale.py",
    "sensor.json": "python benchmarks/sensor.py",
    "train.json": "python benchmarks/train.py --lake <demo lake> --input silhouette",
    "train-glibc-defaults.json": "python benchmarks/train.py --lake <demo lake> --input "
                                 "silhouette --glibc-defaults --out "
                                 "benchmarks/results/train-glibc-defaults.json",
    "train-cuda-h100.json": "python benchmarks/train.py --lake <paper lake> --image-size 224 "
                            "--batch-size 64 --accuracy paper --seeds 2 --out "
                            "benchmarks/results/train-cuda-h100.json",
    "train-cuda-h200.json": "python benchmarks/train.py --synthetic 6144 --image-size 224 "
                            "--batch-size 64 --out benchmarks/results/train-cuda-h200.json",
    "score.json": "python benchmarks/score.py --parts pairs speed",
    "music.json": "python benchmarks/music.py --parts videos speed",
}

# Targets a benchmark's file does not carry itself.
ACCURACY_TARGETS = {  # issue 12: ResNet18 on the demo lake, means over three seeds
    ("random_frames", "mean_frame_pct"): 90.0,
    ("by_participant", "mean_frame_pct"): 50.0,
    ("by_participant", "mean_video_pct"): 70.0,
}
POSE_TARGET = 0.95  # benchmarks/pose.py: each of its three targets

SECTIONS = (
    ("The demo and the classifiers' accuracy",
     ("demo.json", "accuracy.json", "accuracy-alexnet.json", "accuracy-squeezenet1_0.json",
      "accuracy-dancer.json", "pose.json", "pose-seed2.json", "lr.json")),
    ("Training speed", ("train.json", "train-glibc-defaults.json", "train-cpu-float32-avx2.json",
                        "train-cuda-h200.json", "train-cuda-h100.json")),
    ("Ingest, cleaning and scale", ("extract.json", "cleaning.json", "fan_out.json",
                                    "sensor.json", "scale.json")),
    ("Scoring a dancer against her teacher", ("real.json", "score.json", "score-pairs.json",
                                              "score-speed.json", "score-versions.json")),
    ("Music", ("music.json", "music-videos.json")),
)


# -- formatting ---------------------------------------------------------------------------

def num(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(num(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def compare(value: object, target: object) -> bool | None:
    """Whether `value` meets `target` (a number: at least; a string: '>= 0.9', '< 2'...);
    None when it cannot tell."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if isinstance(target, int | float):
        return value >= target
    match = re.match(r"\s*(>=|<=|>|<|==)\s*(-?[\d.]+)", str(target))
    if not match:
        return None
    op, bound = match.group(1), float(match.group(2))
    return {">=": value >= bound, "<=": value <= bound, ">": value > bound,
            "<": value < bound, "==": value == bound}[op]


def verdict(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "—"}[met]


def target_rows(targets: dict) -> list[list[object]]:
    """Rows of name, value, target, met from {name: {value, target, met}}."""
    return [[f"`{name}`", t.get("value"), t.get("target"),
             verdict(t.get("met", compare(t.get("value"), t.get("target"))))]
            for name, t in targets.items() if isinstance(t, dict)]


def machine(data: dict) -> str:
    m = data.get("machine")
    if not isinstance(m, dict):
        return "not recorded in the file"
    parts = []
    if m.get("gpu"):
        parts.append(f"one {m['gpu']}")
    cpus = m.get("cpus", m.get("cpu_count"))
    if cpus:
        parts.append(f"{cpus} CPUs" + (f" ({m['cpu']})" if m.get("cpu") else ""))
    elif m.get("cpu"):
        parts.append(m["cpu"])
    if m.get("python"):
        parts.append(f"Python {m['python']}")
    if m.get("platform"):
        parts.append(m["platform"])
    return ", ".join(parts) or "not recorded in the file"


def parts(data: dict) -> dict[str, dict]:
    """The results a gathering file (score.json, music.json) was made from."""
    found = dict(data.get("sources") or {})
    if isinstance(data.get("videos"), dict) and "measured_at" in data["videos"]:
        found["`videos` part"] = data["videos"]
    for size, part in (data.get("speed_by_size") or {}).items():
        found[f"`speed` part, {size}"] = part
    return found


def when(data: dict) -> str | None:
    """measured_at, or for a file that gathers others the latest of theirs."""
    times = [data.get("measured_at")]
    times += [part.get("measured_at") for part in parts(data).values()]
    times += [run.get("measured_at") for run in data.get("runs", [])
              if isinstance(run, dict)]
    return max((t for t in times if t), default=None)


def header(name: str, data: dict, command: str | None = None) -> list[str]:
    lines = [f"#### [`{name}`]({name}): {data.get('benchmark', 'a benchmark')}", ""]
    command = data.get("command") or command or COMMANDS.get(name)
    lines.append(f"- command: `{command}`" if command else "- command: not recorded")
    if data.get("measured_at"):
        lines.append(f"- measured at: {data['measured_at']}")
    elif parts(data):
        lines.append(f"- measured at: {when(data)} (the latest of the parts below)")
    code = data.get("code")
    if isinstance(code, dict) and code.get("commit"):
        changed = code.get("measured_modules_changed_since_commit") or []
        lines.append(f"- code: commit {code['commit'][:7]}"
                     + (f", with {', '.join(f'`{c}`' for c in changed)} changed since"
                        if changed else ""))
    if "machine" in data or not parts(data):
        lines.append(f"- machine: {machine(data)}")
    if data.get("lake"):
        lines.append(f"- lake: `{data['lake']}`")
    if data.get("source"):
        lines.append(f"- source: {data['source']}")
    return [*lines, ""]


# -- one renderer per kind of results file --------------------------------------------------

def render_demo(name: str, data: dict) -> list[str]:
    lines = header(name, data)
    rows = []
    for run in data.get("runs", []):
        parts = ", ".join(f"{k} {v} s" for k, v in run.get("parts_s", {}).items())
        rows.append([run.get("measured_at", "")[:10], run.get("commit"), run.get("lake"),
                     run.get("install_s"), run.get("first_summary_s"), run.get("demo_s"),
                     parts or "—"])
    lines += table(["measured", "commit", "lake", "install, s", "first summary, s",
                    "demo, s", "of which"], rows)
    for run in data.get("runs", []):
        if run.get("machine"):
            lines += [f"The run of {run.get('commit')} ran on a {run['machine']}.", ""]
        if "cnn_estimate_told_s" in run:
            took = (f"; it took {run['cnn_training_measured_s']} s, and the CNNs (training "
                    f"and evaluation) were {run['cnn_share_of_demo']:.0%} of the demo"
                    if "cnn_training_measured_s" in run else "")
            lines += [f"In the run of {run.get('commit')} the demo told the CNNs' training "
                      f"would take {run['cnn_estimate_told_s']} s on that machine{took}.", ""]
        for key in ("epochs_s", "note"):
            if key in run:
                value = run[key] if key == "note" else "; ".join(
                    f"{k} {v} s an epoch" for k, v in run[key].items())
                lines += [f"In the run of {run.get('commit')}: {value}.", ""]
        if "training_per_protocol_s" in run:
            per = ", ".join(f"{k} {v} s" for k, v in run["training_per_protocol_s"].items())
            lines += [f"Training, per protocol, in the run of {run.get('commit')}: {per}.", ""]
        accuracy = run.get("accuracy_pct")
        if accuracy:
            lines += [f"Validation accuracy in the run of {run.get('commit')}, % (one "
                      f"training seed; blocking checks passed: "
                      f"{run.get('blocking_checks_passed', '—')}):", ""]
            lines += table(["model", *accuracy["columns"]],
                           [[model, *values] for model, values in accuracy.items()
                            if model != "columns"])
    for other in data.get("other_lakes", []):
        resnet = "; ".join(f"{k} {v} %" for k, v in other.get("resnet18_pct", {}).items())
        right = ", ".join(f"{k} {v}" for k, v in
                          other.get("videos_right_by_participant", {}).items())
        lines += [f"On another lake ({other.get('lake')}; `{other.get('command')}`, "
                  f"{other.get('measured_at', '')[:10]}): resnet18 {resnet}; videos right "
                  f"by participant: {right}; blocking checks passed: "
                  f"{other.get('blocking_checks_passed', '—')}.", ""]
    return lines + _shorter_demos(data.get("shorter_demos"))


def _shorter_demos(trials: list[dict] | None) -> list[str]:
    """What a demo within the design's 10 minutes would cost in accuracy, each way tried."""
    lines: list[str] = []
    for trial in trials or []:
        lines += [f"A shorter demo ({trial['question']}; `{trial['command']}`, "
                  f"{trial['measured_at'][:10]}, {trial['commit']}):", "",
                  *table(trial["columns"], trial["rows"])]
    return lines


def render_accuracy(name: str, data: dict) -> list[str]:
    settings = data.get("settings", {})
    arch = data.get("benchmark", "").split()[0] or "resnet18"
    command = "python benchmarks/accuracy.py --lake <demo lake>"
    if arch != "resnet18":
        command += f" --arch {arch}"
    if settings.get("input") not in (None, "silhouette"):
        command += f" --input {settings['input']}"
    protocols = list(data.get("results", {}))
    if protocols == ["by_participant"]:
        command += " --protocols by_participant"
    if name != "accuracy.json":
        command += f" --out benchmarks/results/{name}"
    lines = header(name, data, command)
    if settings:
        lines += ["Settings: " + ", ".join(f"{k} {num(v)}" for k, v in settings.items())
                  + ".", ""]
    rows = []
    for protocol, result in data.get("results", {}).items():
        seeds = "; ".join(f"{s.get('frame_pct')} / {s.get('video_pct')} "
                          f"({s.get('videos_right')}, {s.get('seconds')} s)"
                          for s in result.get("by_seed", []))
        rows.append([protocol, seeds, result.get("mean_frame_pct"),
                     result.get("mean_video_pct")])
    lines += table(["protocol", "per seed: frame / video % (videos right, seconds)",
                    "mean frame %", "mean video %"], rows)
    if arch == "resnet18" and settings.get("input") == "silhouette":
        target_lines = []
        for (protocol, key), bound in ACCURACY_TARGETS.items():
            value = data.get("results", {}).get(protocol, {}).get(key)
            target_lines.append([f"{protocol} {key}", value, f">= {bound:g}",
                                 verdict(compare(value, bound))])
        lines += ["Issue 12's targets for ResNet18:", ""]
        lines += table(["target", "value", "target", "met?"], target_lines)
    return lines


def render_pose(name: str, data: dict) -> list[str]:
    lines = header(name, data)
    classifier = data.get("classifier_by_participant", {})
    cnn = classifier.get("best_cnn_by_participant") or {}
    lines += table(
        ["pose_sequence by_participant, mean of seeds: frame / video",
         "best CNN by_participant: frame / video"],
        [[f"{pct(classifier.get('mean_frame_accuracy'))} / "
          f"{pct(classifier.get('mean_video_accuracy'))}",
          f"{cnn.get('arch', '—')} {pct(cnn.get('frame_accuracy'))} / "
          f"{pct(cnn.get('video_accuracy'))}"]])
    score = data.get("score", {})
    rows = [[part, s.get("videos"), pct(s.get("own_reference_highest")),
             pct(s.get("shuffled_scores_lower")), s.get("own_score_median")]
            for part, s in score.items()]
    lines += table(["videos", "n", "own dance's reference scores highest",
                    "shuffled seconds score lower", "own score, median"], rows)
    everyone = score.get("all", {})
    targets = [
        ["pose_sequence mean video accuracy", pct(classifier.get("mean_video_accuracy")),
         f">= {POSE_TARGET:.0%}", verdict(compare(classifier.get("mean_video_accuracy"),
                                                  POSE_TARGET))],
        ["own reference highest (all videos)", pct(everyone.get("own_reference_highest")),
         f">= {POSE_TARGET:.0%}", verdict(compare(everyone.get("own_reference_highest"),
                                                  POSE_TARGET))],
        ["shuffled scores lower (all videos)", pct(everyone.get("shuffled_scores_lower")),
         f">= {POSE_TARGET:.0%}", verdict(compare(everyone.get("shuffled_scores_lower"),
                                                  POSE_TARGET))],
    ]
    return lines + table(["target", "value", "target", "met?"], targets)


def render_lr(name: str, data: dict) -> list[str]:
    lines = header(name, data)
    rows = []
    for arch, result in data.get("results", {}).items():
        seeds = result.get("by_seed", [])
        minima = sorted(s["minimum"] for s in seeds if s.get("minimum"))
        sizes = sorted({s.get("image_size") for s in seeds})
        rows.append([arch, ", ".join(map(str, sizes)),
                     result.get("valley_geometric_mean"),
                     ", ".join(num(m) for m in minima), result.get("default_lr")])
    return lines + table(["architecture", "px", "valley, geometric mean",
                          "minimum / 10, per seed", "default lr"], rows)


def render_train(name: str, data: dict) -> list[str]:
    lines = header(name, data)
    facts = [f"{k.replace('_', ' ')} {num(data[k])}" for k in
             ("device", "torch", "image_size", "batch_size", "frames", "train_frames",
              "freed_memory_kept") if k in data]
    if "machine" in data and data["machine"].get("device"):
        facts.insert(0, f"device {data['machine']['device']}")
    lines += ["Settings: " + ", ".join(facts) + ". Images per second.", ""]
    targets = data.get("targets") or {}
    rows = []
    for arch, t in data.get("throughput", {}).items():
        waits = t.get("host_syncs_per_training_epoch")
        rows.append([
            arch, t.get("bare_fp32_img_per_s"), t.get("ours_fast_path_off_img_per_s"),
            t.get("ratio_off_vs_bare_fp32", t.get("ratio_off_vs_bare")),
            t.get("bare_fast_img_per_s"), t.get("ours_fast_path_on_img_per_s"),
            t.get("ratio_on_vs_bare_fast", t.get("ratio_on_vs_bare")), t.get("fast_path"),
            f"{waits['plain']} / {waits['augmented']}" if isinstance(waits, dict) else None])
    lines += table(["arch", "bare fp32", "ours fp32", "ratio", "bare fast path",
                    "ours fast path", "ratio", "fast path", "host waits per epoch "
                    "(plain / augmented)"], rows)
    device = (data.get("machine") or {}).get("device", "cpu")
    target_rows_ = []
    for key, bound in targets.items():
        for arch, t in data.get("throughput", {}).items():
            if isinstance(bound, dict):
                if arch not in bound:
                    continue
                arch_bound = bound[arch]
            else:
                arch_bound = bound
            if key.startswith(f"{arch}_"):
                value = t.get(key[len(arch) + 1:])
            elif key in t:
                value = t[key]
            else:
                continue
            met = compare(value, arch_bound)
            if "(CPU)" in str(arch_bound) and device != "cpu":
                met = None
                arch_bound = f"{arch_bound}: not for this device"
            target_rows_.append([arch, f"`{key}`", value, arch_bound, verdict(met)])
    if target_rows_:
        lines += table(["arch", "target", "value", "target", "met?"], target_rows_)
    accuracy = data.get("accuracy_fast_path_off_vs_on")
    if isinstance(accuracy, dict):
        lines += ["Validation accuracy, fast path off and on (mean over seeds, %):", ""]
        lines += table(["arch", "off", "on", "difference, points"],
                       [[arch, a.get("off", {}).get("mean_pct"),
                         a.get("on", {}).get("mean_pct"), a.get("mean_difference_points")]
                        for arch, a in accuracy.items()])
    return lines


def render_extract(name: str, data: dict) -> list[str]:
    lines = header(name, data)
    lines += [f"{num(data.get('videos'))} videos of {num(data.get('seconds_each'))} s at "
              f"{data.get('size')}, {num(data.get('sampled_frames'))} sampled frames, best of "
              f"{num(data.get('repeats'))}.", ""]
    lines += table(["path", "frames per second"],
                   [[f"`{k}`", v] for k, v in data.get("frames_per_second", {}).items()])
    ratios = data.get("ratios", {})
    targets = data.get("targets", {})
    lines += table(["ratio", "value", "target", "met?"],
                   [[f"`{k}`", v, targets.get(k), verdict(compare(v, targets[k]))
                     if k in targets else "—"] for k, v in ratios.items()])
    return lines


def render_cleaning(name: str, data: dict) -> list[str]:
    lines = header(name, data)
    lines += table(["lake", "frames", "bad seconds", "precision", "recall",
                    "pose found on dancer frames"],
                   [[lake.get("lake"), lake.get("frames"), lake.get("bad_seconds"),
                     lake.get("precision"), lake.get("recall"),
                     pct(lake.get("pose_found_on_dancers"))]
                    for lake in data.get("lakes", [])])
    confusion = data.get("confusion_seed0_demo")
    if confusion:
        lines += ["The confusion of reasons on the seed-0 demo lake (rows: the sidecar; "
                  "columns: the verdict):", ""]
        lines += table(["truth", *confusion["columns"]],
                       [[truth, *row] for truth, row in confusion.items()
                        if truth != "columns"])
    return lines


def render_fan_out(name: str, data: dict) -> list[str]:
    lines = header(name, data)
    lines += [f"{num(data.get('videos'))} videos of {num(data.get('seconds_each'))} s at "
              f"{data.get('size')}; median time for Dagster to start a step's process: "
              f"{num(data.get('step_start_median_s'))} s.", ""]
    lines += table(["videos per step (0: the class in one step)", "steps", "wall, s"],
                   [[r.get("videos_per_step"), r.get("steps"), r.get("wall_s")]
                    for r in data.get("runs", [])])
    ratios = data.get("ratios", {})
    if ratios:
        lines += table(["ratio", "value"], [[f"`{k}`", v] for k, v in ratios.items()])
    return lines


def render_sensor(name: str, data: dict) -> list[str]:
    lines = header(name, data)
    keys = ("files", "classes", "first_tick_s", "unchanged_tick_best_s",
            "unchanged_tick_median_s", "one_file_changed_tick_s")
    lines += table(["measure", "value"], [[f"`{k}`", data.get(k)] for k in keys if k in data])
    target = data.get("target")
    if target:
        match = re.search(r"<=\s*([\d.]+)\s*s", target)
        met = (data.get("unchanged_tick_median_s", 0) <= float(match.group(1))
               if match else None)
        lines += table(["target", "value", "target", "met?"],
                       [["median unchanged tick", data.get("unchanged_tick_median_s"), target,
                         verdict(met)]])
    return lines


def render_scale(name: str, data: dict) -> list[str]:
    lines = header(name, data)
    lines += table(["frames", "videos", "manifest total, s", "us per frame", "peak RSS, GB"],
                   [[m.get("frames"), m.get("videos"), m.get("total_s"),
                     m.get("us_per_frame"), m.get("peak_rss_gb")]
                    for m in data.get("manifest", [])])
    lines += table(["files", "sensor tick cold, s", "unchanged, s", "us per file",
                    "peak RSS, GB"],
                   [[s.get("files"), s.get("cold_tick_s"), s.get("unchanged_tick_s"),
                     s.get("us_per_file"), s.get("peak_rss_gb")]
                    for s in data.get("sensor", [])])
    growth = [[part, g.get("size_ratio"), g.get("time_ratio")]
              for part in ("manifest_growth", "sensor_growth")
              if isinstance(g := data.get(part), dict)]
    if growth:
        lines += table(["growth", "size ratio", "time ratio"], growth)
    return lines


def render_targets_summary(name: str, data: dict) -> list[str]:
    """score.json and music.json: every target of a family, and the files behind them."""
    lines = header(name, data)
    lines += table(["target", "value", "target", "met?"], target_rows(data.get("targets", {})))
    if "all_met" in data:
        lines += [f"All met: {num(data['all_met'])}.", ""]
    sources = []
    for source, part in parts(data).items():
        label = f"[`{source}`]({source})" if source.endswith(".json") else source
        if "machine" not in part and source.endswith(".json") and (RESULTS / source).exists():
            part = {**json.loads((RESULTS / source).read_text()), **part}
        sources.append([label, part.get("measured_at"), f"`{part.get('command')}`",
                        machine(part)])
    if sources:
        lines += ["Measured by:", ""]
        lines += table(["part", "measured at", "command", "machine"], sources)
    return lines


def render_score_pairs(name: str, data: dict) -> list[str]:
    lines = header(name, data)
    setup = data.get("setup", {})
    summary = data.get("summary", {})
    lines += [f"{num(summary.get('pairs'))} teacher-student pairs: seeds "
              f"{', '.join(map(str, setup.get('seeds', [])))}, {num(setup.get('dances'))} "
              f"dances, {num(setup.get('students'))} students each, "
              f"{num(setup.get('seconds'))} s at {setup.get('size')}.", ""]
    lines += table(["target", "value", "target", "met?"],
                   target_rows(summary.get("targets", {})))
    scores = summary.get("scores", {})
    if scores:
        lines += table(["scores against", "n", "5th percentile", "median", "95th percentile"],
                       [[kind.replace("_", " ") + " teacher", s.get("n"), s.get("p5"),
                         s.get("median"), s.get("p95")] for kind, s in scores.items()])
    return lines


def render_score_speed(name: str, data: dict) -> list[str]:
    lines = header(name, data)
    end = data.get("end_to_end", {})
    rows = [[kind, end.get(kind, {}).get("wall_median_s"), end.get(kind, {}).get("wall_best_s")]
            for kind in ("cold", "warm") if kind in end]
    if rows:
        videos = data.get("videos", {})
        teacher, student = videos.get("teacher", {}), videos.get("student", {})
        lines += [f"`{end.get('command')}`: a {num(teacher.get('duration_s'))} s "
                  f"{teacher.get('size')} teacher and a {num(student.get('duration_s'))} s "
                  "student; cold: a new lake, so both are posed; warm: the lake's pose cache "
                  "filled.", ""]
        lines += table(["run", "wall median, s", "best, s"], rows)
    pose_rows = []
    for key in ("pose_step", "pose_step_solo_teacher"):
        step = data.get(key)
        if isinstance(step, dict):
            pose_rows.append([f"`{key}`", step.get("frames"),
                              step.get("bare", {}).get("ms_per_frame_median"),
                              step.get("ours", {}).get("ms_per_frame_median"),
                              step.get("bare_over_ours_median")])
    if pose_rows:
        lines += table(["pose step", "frames", "bare MediaPipe, ms a frame", "ours, ms a frame",
                        "bare / ours"], pose_rows)
    lines += table(["target", "value", "target", "met?"], target_rows(data.get("targets", {})))
    return lines


def render_score_versions(name: str, data: dict) -> list[str]:
    lines = header(name, data)
    medians = data.get("median_s", {})
    lines += [f"`score STUDENT --reference TEACHER` at {data.get('current_commit')} beside "
              f"{data.get('baseline_commit')}, each run a fresh process, versions alternating "
              "first; cold: a new lake, warm: the teacher's poses cached.", ""]
    lines += table(["code", "cold median, s", "warm median, s"],
                   [[f"{name} ({data.get(name + '_commit')})", kinds.get("cold"),
                     kinds.get("warm")] for name, kinds in medians.items()])
    lines += table(["target", "value", "target", "met?"], target_rows(data.get("targets", {})))
    return lines


def render_music_videos(name: str, data: dict) -> list[str]:
    lines = header(name, data)
    summary = data.get("summary", {})
    lines += [f"{num(summary.get('videos'))} videos: {num(summary.get('with_own_song'))} with "
              f"their dance's song, {num(summary.get('with_other_song'))} with another, "
              f"{num(summary.get('silent'))} silent. The per-video rows behind "
              "[`music.json`](music.json)'s `videos` part.", ""]
    counts = summary.get("counts", {})
    lines += table(["target", "value", "count", "target", "met?"],
                   [[f"`{k}`", t.get("value"), counts.get(k), t.get("target"),
                     verdict(t.get("met"))]
                    for k, t in summary.get("targets", {}).items()])
    medians = [[f"`{k}`", v] for k, v in summary.items()
               if k.endswith(("_ms", "_permille")) and isinstance(v, int | float)]
    if medians:
        lines += table(["median error", "value"], medians)
    return lines


def render_generic(name: str, data: dict) -> list[str]:
    lines = header(name, data)
    targets = data.get("targets")
    if isinstance(targets, dict):
        lines += table(["target", "value", "target", "met?"], target_rows(targets))
    return lines


def render_float32(name: str, data: dict) -> list[str]:
    """benchmarks/train.py --cpu-float32: the float32 path's variants, as ratios."""
    lines = header(name, data)
    cpu = data.get("machine", {}).get("cpu", {})
    lines += [f"CPU as torch and oneDNN saw it: {cpu.get('model')}, torch capability "
              f"{cpu.get('torch_capability')}, oneDNN limit {cpu.get('onednn_max_isa')}, "
              f"bf16 used: {num(cpu.get('bf16_used'))}; images a second (best of two "
              "interleaved runs) and the ratio to the path as it trained:", ""]
    variants = data.get("variants", {})
    names = list(next(iter(variants.values()), {}).get("img_per_s", {}))
    rows = [[arch, v.get("image_size"), *(f"{num(v['img_per_s'][n])} "
                                          f"({v['ratio_to_as_trained'][n]:.2f}x)"
                                          for n in names)]
            for arch, v in variants.items()]
    return lines + table(["model", "px", *names], rows)


def render_real(name: str, data: dict) -> list[str]:
    """benchmarks/real.py: the targets on the tuned and the held-back real pairs."""
    lines = header(name, data)
    lines += [f"{len(data.get('clips', {}))} real clips (their sha256 in the file), never "
              "committed; `tune`: the pairs the score's rules were set on, `measure`: pairs "
              "only measured. `routines`: against a teacher's video (`score --reference`); "
              "`averaged`: against each routine averaged over its other dancers one pose a "
              "second (`score --dance`); a refused pair ranks below any score.", ""]
    for section in ("routines", "averaged", "edits"):
        by_part = data.get(section, {}).get("by_part", {})
        rows = [[f"`{section}: {key}`", *(
            (by_part.get(part, {}).get(key) or {}).get("value")
            if isinstance(by_part.get(part, {}).get(key), dict)
            else by_part.get(part, {}).get(key) for part in ("tune", "measure")),
            next((v.get("target") for v in (by_part.get(p, {}).get(key) for p in by_part)
                  if isinstance(v, dict)), "—")]
            for key in next(iter(by_part.values()), {}) if not key.endswith("scores")
            and not key.endswith("_max")]
        lines += table(["measure", "tune", "measure (held back)", "target"], rows)
    return lines


RENDERERS: dict[str, Callable[[str, dict], list[str]]] = {
    "train-cpu-float32-avx2.json": render_float32,
    "real.json": render_real,
    "demo.json": render_demo,
    "cleaning.json": render_cleaning,
    "lr.json": render_lr,
    "extract.json": render_extract,
    "fan_out.json": render_fan_out,
    "sensor.json": render_sensor,
    "scale.json": render_scale,
    "score.json": render_targets_summary,
    "music.json": render_targets_summary,
    "score-pairs.json": render_score_pairs,
    "score-speed.json": render_score_speed,
    "score-versions.json": render_score_versions,
    "music-videos.json": render_music_videos,
}


def renderer(name: str) -> Callable[[str, dict], list[str]]:
    if name in RENDERERS:
        return RENDERERS[name]
    if name.startswith("accuracy"):
        return render_accuracy
    if name.startswith("pose"):
        return render_pose
    if name.startswith("train"):
        return render_train
    return render_generic


def targets_of(name: str, data: dict) -> tuple[int, int]:
    """(met, judged) over the targets a file's section shows."""
    text = "\n".join(renderer(name)(name, data))
    return text.count("| met |"), text.count("| met |") + text.count("| **not met** |")


# -- the two documents --------------------------------------------------------------------

def results_readme(results: Path = RESULTS) -> str:
    files = {path.name: json.loads(path.read_text()) for path in sorted(results.glob("*.json"))}
    placed = [name for _, names in SECTIONS for name in names]
    sections = [(title, [n for n in names if n in files]) for title, names in SECTIONS]
    others = [name for name in files if name not in placed]
    if others:
        sections.append(("Other results", others))
    lines = [
        "# Measured numbers",
        "",
        f"Written by `{SELF}` from the results files in this folder; do not edit by hand. "
        "The user documentation (README.md, docs/) states how the project behaves; what "
        "it measured is here, each result with the command that measured it, when and on "
        "which machine. Rerun the command after a benchmark "
        "(`dance_assets_tests/test_docs.py` fails until this file matches its files).",
        "",
        "## At a glance",
        "",
    ]
    glance = []
    for _, names in sections:
        for name in names:
            met, judged = targets_of(name, files[name])
            glance.append([f"[`{name}`](#{anchor(name, files[name])})",
                           files[name].get("benchmark", "—"),
                           (when(files[name]) or "—")[:10],
                           f"{met} of {judged}" if judged else "—"])
    lines += table(["file", "benchmark", "measured", "targets met"], glance)
    for title, names in sections:
        lines += [f"## {title}", ""]
        for name in names:
            lines += renderer(name)(name, files[name])
    notes = sorted(p for p in results.glob("*.md") if p.name != "README.md")
    if notes:
        lines += ["## Reports written by hand or by other commands", ""]
        for path in notes:
            first = path.read_text().splitlines()[0] if path.read_text() else path.name
            title = first.lstrip("# ").strip() if first.startswith("#") else (
                "the scale plan, written by `python benchmarks/scale.py --plan` from "
                "extract.json, scale.json, fan_out.json, train.json and train-cuda-h200.json"
                if path.name == "scale-plan.md" else path.stem)
            lines.append(f"- [`{path.name}`]({path.name}): {title}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def anchor(name: str, data: dict) -> str:
    """GitHub's anchor for a file's heading."""
    heading = f"{name}: {data.get('benchmark', 'a benchmark')}"
    slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
    return slug


def tables_module():
    """The package's tables module, wherever the package keeps it."""
    for name in ("dance_assets.core.lake.tables", "dance_assets.core.tables"):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    raise SystemExit("no tables module in dance_assets.core (lake/tables.py or tables.py)")


def _comments(source: str) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """The comment above each table's entry in SCHEMAS, and above a column inside it."""
    table_notes: dict[str, str] = {}
    column_notes: dict[tuple[str, str], str] = {}
    pending: list[str] = []
    current = None
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
            continue
        entry = re.match(r'"(\w+)":\s*_schema\(', stripped)
        if entry:
            current = entry.group(1)
            if pending:
                table_notes[current] = " ".join(pending)
        elif current and pending:
            column = re.match(r'\(\s*"(\w+)"', stripped)
            if column:
                column_notes[(current, column.group(1))] = " ".join(pending)
        pending = []
    return table_notes, column_notes


def arrow_type(kind: object) -> str:
    text = str(kind)
    return re.sub(r"list<item: (\w+)>", r"list<\1>", text)


def schemas_section() -> str:
    """The Markdown between the markers in docs/tables.md."""
    module = tables_module()
    try:
        source = inspect.getsource(module)
    except OSError:
        source = ""
    table_notes, column_notes = _comments(source)
    partitions = getattr(module, "PARTITION_COLUMNS", {})
    lines = [BEGIN, ""]
    for name, schema in module.SCHEMAS.items():
        lines += [f"### `{name}`", ""]
        about = []
        if name in table_notes:
            about.append(table_notes[name])
        if partitions.get(name):
            about.append("Partitioned by " + ", ".join(f"`{c}`" for c in partitions[name])
                         + f" (`tables/{name}/" + "/".join(f"{c}=…" for c in partitions[name])
                         + "/part-0.parquet`).")
        if about:
            lines += [" ".join(about), ""]
        described = {}
        for field in schema:
            metadata = field.metadata or {}
            text = metadata.get(b"description", b"").decode() or column_notes.get(
                (name, field.name), "")
            described[field.name] = text
        if any(described.values()):
            lines += table(["column", "type", "note"],
                           [[f"`{f.name}`", f"`{arrow_type(f.type)}`", described[f.name]]
                            for f in schema])
        else:
            lines += table(["column", "type"],
                           [[f"`{f.name}`", f"`{arrow_type(f.type)}`"] for f in schema])
    lines.append(END)
    return "\n".join(lines)


def with_schemas(doc: str, section: str) -> str:
    """`doc` with the text between the markers (markers included) replaced by `section`."""
    start, end = doc.find("<!-- schemas: begin"), doc.find(END)
    if start < 0 or end < 0:
        raise SystemExit(f"{TABLES_DOC}: the schema markers are missing")
    return doc[:start] + section + doc[end + len(END):]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a file is out of date")
    args = parser.parse_args()
    wanted = {RESULTS_README: results_readme(),
              TABLES_DOC: with_schemas(TABLES_DOC.read_text(), schemas_section())}
    stale = [path for path, text in wanted.items()
             if not path.exists() or path.read_text() != text]
    for path in stale:
        if args.check:
            print(f"out of date: {path.relative_to(ROOT)}")
        else:
            path.write_text(wanted[path])
            print(f"wrote {path.relative_to(ROOT)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
