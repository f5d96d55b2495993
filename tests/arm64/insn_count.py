#!/usr/bin/env python3
"""Helpers of tests/arm64/insn-count.sh (standard library only: no numpy on the build machine).

  insn_count.py boards                      one line per ARM64 board: name qemu_cpu core fp16(yes/no)
  insn_count.py fixtures NAME...            one line per fixture: name onnx input normalize(or -)
  insn_count.py rows SRC.npy DST.npy N R    the first N rows of SRC, repeated R times, as DST
  insn_count.py report RUNS_DIR CASES N [--repeat A B] [--seconds S] [--jobs J] [--runs R]
                                            the markdown report from the plugin outputs in RUNS_DIR

A case is fixture/board/core/mode; its runs are RUNS_DIR/<fixture>__<board>__<mode>__<rows>.{out,err}
(stdout of `ema run`, stderr with the plugin's "insns <key> <count>" lines). Per inference figures
are (count(2N rows) - count(N rows)) / N, for the total and for every mnemonic. Its batch-1 runs, when
there are any, are RUNS_DIR/<fixture>__<board>__<mode>__b1__<rows>.{out,err} (`ema bench --warmup 0
--runs <rows>`: that many Session.Run calls of one sample).
"""
import ast
import json
import os
import re
import struct
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def boards():
    """ARM64 boards in a fixed order (the Pi 4, Pi 5, Jetson Nano, Jetson Orin), from boards/*/board.json."""
    order = ["rpi4", "rpi5", "jetson-nano", "jetson-orin"]
    out = []
    bdir = os.path.join(ROOT, "boards")
    for name in sorted(os.listdir(bdir), key=lambda n: (order.index(n) if n in order else 99, n)):
        p = os.path.join(bdir, name, "board.json")
        if not os.path.isfile(p):
            continue
        b = json.load(open(p))
        if b.get("arch") != "arm64" or not b.get("qemu_cpu"):
            continue
        fp16 = "yes" if "asimdhp" in b.get("features", []) else "no"
        out.append((b["name"], b["qemu_cpu"], b.get("core", "?").replace(" ", "-"), fp16))
    return out


def fixtures(names):
    meta = {f["model"]: f for f in json.load(open(os.path.join(ROOT, "tests", "fixtures", "fixtures.json")))}
    out = []
    for n in names:
        f = meta[n + ".onnx"]
        norm = ",".join(str(v) for v in f["normalize"]) if f.get("normalize") else "-"
        out.append((n, "tests/fixtures/" + f["model"], "tests/fixtures/" + f["input"], norm))
    return out


def rows(src, dst, n, repeat):
    """Writes the first n rows of a C-order .npy file, repeated `repeat` times (so 2N rows are the same
    N inputs twice: adaptive mode then recomputes the same rows in both halves)."""
    b = open(src, "rb").read()
    if b[:6] != b"\x93NUMPY":
        raise SystemExit(f"{src}: not a .npy file")
    if b[6] == 1:
        hl, off = struct.unpack("<H", b[8:10])[0], 10
    else:
        hl, off = struct.unpack("<I", b[8:12])[0], 12
    h = ast.literal_eval(b[off:off + hl].decode("latin1"))
    shape = tuple(h["shape"])
    if h["fortran_order"] or not shape or shape[0] < n:
        raise SystemExit(f"{src}: need a C-order array with at least {n} rows, have {shape}")
    per = int(re.sub(r"\D", "", h["descr"]))
    for d in shape[1:]:
        per *= d
    body = b[off + hl:off + hl + n * per] * repeat
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (h["descr"], (n * repeat,) + shape[1:])
    hdr += " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"
    with open(dst, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode("latin1") + body)


def counts(path):
    d = {}
    for line in open(path, errors="replace"):
        p = line.split()
        if len(p) == 3 and p[0] == "insns":
            d[p[1]] = int(p[2])
    if "total" not in d:
        raise ValueError(f"{path}: no 'insns total' line (did qemu load the plugin?)")
    return d


def per_inference(runs, stem, n):
    a, b = counts(f"{runs}/{stem}__{n}.err"), counts(f"{runs}/{stem}__{2 * n}.err")
    return {k: (b.get(k, 0) - a.get(k, 0)) / n for k in set(a) | set(b)}


def base(key):
    return key.split(".")[0]


def groups(d):
    """Per inference counts of the instruction groups the report shows."""
    g = {"total": d["total"], "sdot": 0.0, "smlal": 0.0, "fmla32": 0.0, "fmla16": 0.0}
    for k, v in d.items():
        m = base(k)
        if m in ("sdot", "udot"):
            g["sdot"] += v
        elif m in ("smlal", "smlal2", "smull", "smull2"):
            g["smlal"] += v
        elif m == "fmla":
            if k.startswith("fmla.8h") or k.startswith("fmla.4h") or k == "fmla.h":
                g["fmla16"] += v
            else:
                g["fmla32"] += v
    return g


def run_info(path):
    """The low-pass kernel and the recomputed share from `ema run`'s stdout."""
    kern, rec = "?", ""
    for line in open(path, errors="replace"):
        m = re.search(r"low-pass kernels (.*)\)\s*$", line)
        if m:
            kern = "none (all fp32)" if m.group(1).startswith("none") else m.group(1)
        m = re.match(r"recomputed in fp32 ([0-9.]+ %)", line)
        if m:
            rec = m.group(1)
    return kern, rec


def mode_label(m):
    """MODE+generic -> "MODE --kernels generic", MODE+EST -> "MODE --estimator EST"."""
    if "+" not in m:
        return m
    mode, extra = m.split("+", 1)
    return f"{mode} --kernels generic" if extra == "generic" else f"{mode} --estimator {extra}"


def fmt_int(v):
    return f"{v:,.0f}"


def pct(part, total):
    """A share in percent; "0" when the group is absent (under half an instruction per inference:
    the difference method leaves a few stray counts of start-up code)."""
    if abs(part) < 0.5:
        return "0"
    return f"{max(0.0, 100.0 * part / total):.1f} %" if total else "-"


def report(runs, case_file, n, repeat=None, seconds=None, jobs=None, qemu_runs=None):
    cases = [line.split() for line in open(case_file) if line.strip()]
    res = {}
    b1 = {}  # case -> instructions per batch-1 inference
    problems = []
    for fixture, board, core, mode in cases:
        stem = f"{fixture}__{board}__{mode}"
        try:
            d = per_inference(runs, stem, n)
        except (OSError, ValueError) as e:
            problems.append(f"{stem}: {e}")
            continue
        kern, rec = run_info(f"{runs}/{stem}__{2 * n}.out")
        res[(fixture, board, mode)] = (core, d, groups(d), kern, rec)
        if os.path.exists(f"{runs}/{stem}__b1__{n}.err"):
            try:
                b1[(fixture, board, mode)] = per_inference(runs, stem + "__b1", n)["total"]
            except (OSError, ValueError) as e:
                problems.append(f"{stem} batch 1: {e}")

    o = []
    o.append(f"Executed ARM64 instructions per inference under qemu-aarch64 ({n} and {2 * n} rows, "
             f"(count({2 * n}) - count({n})) / {n}); the linux-arm64 `ema` binary, `ema run --mode M`.")
    o.append("Shares are of all instructions of one inference. SMLAL counts SMLAL, SMLAL2, SMULL and SMULL2; "
             "FMLA .4s is fp32 (vector and by element), FMLA .8h is fp16 (FEAT_FP16).")
    if b1:
        o.append("Batch 1 (`ema bench --warmup 0 --runs N` and `2N` over the same N rows): instructions per "
                 "Session.Run of one sample, its fixed cost included (the sensor loop's case); \"b1 / batched\" "
                 "is that over the batched figure.")
    o.append("")
    b1_head, b1_rule = (" batch 1 insns | b1 / batched | b1 vs f32 |", "---:|---:|---:|") if b1 else ("", "")
    o.append("| model | board (qemu core) | mode | low-pass kernel | insns / inference | vs f32 | SDOT | SMLAL | FMLA .4s | FMLA .8h | fp32 recomputed |" + b1_head)
    o.append("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|" + b1_rule)
    for fixture, board, core, mode in cases:
        r = res.get((fixture, board, mode))
        if r is None:
            o.append(f"| {fixture} | {board} ({core}) | {mode_label(mode)} | FAILED | | | | | | | |" + (" | | |" if b1 else ""))
            continue
        _, d, g, kern, rec = r
        f32 = res.get((fixture, board, "f32"))
        ratio = f"{g['total'] / f32[2]['total']:.2f}" if f32 and f32[2]["total"] else "-"
        t = g["total"]
        line = (f"| {fixture} | {board} ({core}) | {mode_label(mode)} | {kern} | {fmt_int(t)} | {ratio} | {pct(g['sdot'], t)} | "
                f"{pct(g['smlal'], t)} | {pct(g['fmla32'], t)} | {pct(g['fmla16'], t)} | {rec or '-'} |")
        if b1:
            one, one32 = b1.get((fixture, board, mode)), b1.get((fixture, board, "f32"))
            line += f" {fmt_int(one)} | {one / t:.2f} |" if one and t else " - | - |"
            line += f" {one / one32:.2f} |" if one and one32 else " - |"
        o.append(line)

    # The i8 kernel variants: the same model on a core without dot product (AdvSimd SMLAL kernel) and with it (SDOT).
    pairs = [(f, "rpi4", "rpi5") for f in dict.fromkeys(c[0] for c in cases)]
    rows_v = []
    for fixture, a, b in pairs:
        ra, rb = res.get((fixture, a, "i8")), res.get((fixture, b, "i8"))
        if not ra or not rb:
            continue
        ta, tb = ra[2]["total"], rb[2]["total"]
        rows_v.append(f"| {fixture} | {fmt_int(ta)} ({ra[3]}) | {fmt_int(tb)} ({rb[3]}) | {100.0 * (ta - tb) / ta:.1f} % | "
                      f"{ta / tb:.2f} | {fmt_int(ra[2]['smlal'])} | {fmt_int(rb[2]['sdot'])} | {fmt_int(rb[2]['smlal'])} |")
    if rows_v:
        o.append("")
        o.append("i8 kernel variants: the same i8 model on cortex-a72 (no dot product: the AdvSimd SMLAL kernel) "
                 "and on cortex-a76 (the SDOT kernel), per inference.")
        o.append("")
        o.append("| model | cortex-a72 insns | cortex-a76 insns | fewer on a76 | a72 / a76 | SMLAL (a72) | SDOT (a76) | SMLAL (a76) |")
        o.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        o.extend(rows_v)

    # The most executed instructions of one inference, for the i8 variants (what the hot loops are made of).
    hot = []
    for fixture, board, core, mode in cases:
        if mode != "i8" or board not in ("rpi4", "rpi5"):
            continue
        r = res.get((fixture, board, mode))
        if not r:
            continue
        top = sorted(((v, k) for k, v in r[1].items() if k != "total"), reverse=True)[:8]
        hot.append(f"- {fixture} i8 on {core}: " + ", ".join(f"{k} {fmt_int(v)}" for v, k in top))
    if hot:
        o.append("")
        o.append("Most executed instructions per inference, i8 mode (mnemonic.arrangement of the first operand):")
        o.append("")
        o.extend(hot)

    # qemu 7.2's disassembler prints instructions it does not know as ".byte"; the plugin names SDOT/UDOT
    # and the FEAT_FP16 ones the kernels use. Whatever is left is shown so a new kernel's instructions
    # are not silently missed from the groups above.
    worst = max(((abs(r[1].get(".byte", 0)) / r[2]["total"], k) for k, r in res.items() if r[2]["total"]), default=None)
    if worst and max(abs(r[1].get(".byte", 0)) for r in res.values()) < 0.5:
        o.append("")
        o.append("Undecoded instructions (\".byte\"): none per inference.")
    elif worst:
        o.append("")
        o.append(f"Undecoded instructions (\".byte\"): at most {100.0 * worst[0]:.4f} % of an inference "
                 f"({' '.join(worst[1])}).")

    if repeat:
        a_stem, b_stem = repeat
        try:
            first, second = per_inference(runs, a_stem, n), per_inference(runs, b_stem, n)
            ra = counts(f"{runs}/{a_stem}__{n}.err")["total"]
            rb = counts(f"{runs}/{b_stem}__{n}.err")["total"]
            dt = second["total"] - first["total"]
            o.append("")
            o.append(f"Repeatability: {a_stem.replace('__', ' ')} measured twice: the {n}-row runs executed "
                     f"{ra:,} and {rb:,} instructions ({100.0 * abs(rb - ra) / ra:.4f} % apart); per inference "
                     f"{first['total']:,.1f} and {second['total']:,.1f} ({dt:+,.1f}, {100.0 * abs(dt) / first['total']:.4f} %).")
        except (OSError, ValueError) as e:
            problems.append(f"repeat check: {e}")
    if seconds is not None:
        o.append("")
        o.append(f"{len(res)} cases, {qemu_runs or 2 * len(res) + (2 if repeat else 0)} qemu runs in {seconds} s"
                 + (f" ({jobs} at a time)." if jobs else "."))
    for p in problems:
        o.append(f"PROBLEM: {p}")
    print("\n".join(o))
    return 1 if problems else 0


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "boards":
        for b in boards():
            print(*b)
    elif cmd == "fixtures":
        for f in fixtures(args):
            print(*f)
    elif cmd == "rows":
        rows(args[0], args[1], int(args[2]), int(args[3]))
    elif cmd == "report":
        runs, case_file, n = args[0], args[1], int(args[2])
        repeat = seconds = jobs = qemu_runs = None
        rest = args[3:]
        while rest:
            if rest[0] == "--repeat":
                repeat, rest = (rest[1], rest[2]), rest[3:]
            elif rest[0] == "--seconds":
                seconds, rest = rest[1], rest[2:]
            elif rest[0] == "--jobs":
                jobs, rest = rest[1], rest[2:]
            elif rest[0] == "--runs":
                qemu_runs, rest = rest[1], rest[2:]
            else:
                raise SystemExit(f"report: unknown argument {rest[0]}")
        return report(runs, case_file, n, repeat, seconds, jobs, qemu_runs)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
