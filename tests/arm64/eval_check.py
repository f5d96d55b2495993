#!/usr/bin/env python3
"""Checks the `ema eval --json` results that run-qemu.sh collected for one target against x64.

    eval_check.py DIR TARGET [yes|no]

DIR holds TARGET-MODE.json / .rc / .err for MODE in i8, adaptive, f16acc, adaptive-f16acc (and the
x64-MODE.* reference files). TARGET is `x64` or a qemu core; the third argument says whether the core
has Dp (SDOT) and FEAT_FP16. Prints one `PASS ...` or `FAIL ...` line per check; run-qemu.sh feeds
them to its pass/fail helpers. Exit code 0 even when checks fail (the caller counts the lines).
"""
import json
import os
import re
import sys

MODES = ["i8", "adaptive", "f16acc", "adaptive-f16acc"]
UNIFORM = ["i8", "f16acc"]        # no recompute: integer / bit-exact fp16 kernels, must equal x64 exactly
ADAPTIVE = ["adaptive", "adaptive-f16acc"]
EXACT_KEYS = ["top1", "agreement", "mean_rel_error"]
CLOSE_KEYS = ["agreement", "recompute_fraction"]
TOLERANCE = 0.01


def load(d, target, mode):
    """(doc with numbers kept as printed strings, problem text or None)."""
    base = os.path.join(d, f"{target}-{mode}")
    rc = open(base + ".rc").read().strip() if os.path.exists(base + ".rc") else "?"
    err = open(base + ".err", errors="replace").read().strip() if os.path.exists(base + ".err") else ""
    try:
        # parse_float/parse_int=str: compare the numbers exactly as ema printed them
        with open(base + ".json") as f:
            doc = json.load(f, parse_float=str, parse_int=str)
    except (OSError, ValueError) as e:
        first = err.splitlines()[0] if err else f"{type(e).__name__}: {e}"
        return None, f"exit {rc}, no JSON ({first})"
    if rc != "0":
        return doc, f"exit {rc}"
    return doc, None


def num(v):
    """A printed JSON number as float; NaN when missing (so every comparison with it fails)."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def out(ok, text):
    print(("PASS " if ok else "FAIL ") + text, flush=True)


def summary(doc):
    return (f"top1 {doc.get('top1')}, agreement {doc.get('agreement')}, "
            f"recompute {num(doc.get('recompute_fraction')):.4f}, "
            f"mean rel err {num(doc.get('mean_rel_error')):.3e}, median {doc.get('median_latency_us')} us")


def main():
    d, target = sys.argv[1], sys.argv[2]
    fast = sys.argv[3] if len(sys.argv) > 3 else None
    docs = {}
    for mode in MODES:
        doc, problem = load(d, target, mode)
        label = f"{target} eval fmnist-mlp-tanh {mode}"
        if problem:
            out(False, f"{label}: {problem}")
            continue
        docs[mode] = doc
        bv = doc.get("bound_violations")
        out(bv == "0", f"{label}: bound_violations {bv}; {summary(doc)}")

    if target == "x64" or not docs:
        return

    # Kernel choice: the same in every mode, and the one the core's features call for.
    want_i8 = "i8-gemv-8x16-dp" if fast == "yes" else "i8-gemv-8x16-advsimd"
    want_f16 = r"f16acc-gemv-8-fp16native" if fast == "yes" else r"f16acc-gemv-8-emulated(-v128)?"
    chosen = {json.dumps(doc.get("kernels"), sort_keys=True) for doc in docs.values()}
    k = next(iter(docs.values())).get("kernels") or {}
    i8, f16 = k.get("i8-gemv"), k.get("f16acc-gemv")
    ok = len(chosen) == 1 and i8 == want_i8 and f16 is not None and re.fullmatch(want_f16, f16) is not None
    note = "" if len(chosen) == 1 else f" (kernels differ between modes: {sorted(chosen)})"
    out(ok, f"{target} eval kernels: i8-gemv -> {i8} (want {want_i8}), f16acc-gemv -> {f16} (want {want_f16}), "
            f"f32-gemv-rows -> {k.get('f32-gemv-rows')}{note}")

    for mode in UNIFORM + ADAPTIVE:
        ref, problem = load(d, "x64", mode)
        label = f"{target} eval {mode} vs x64"
        if mode not in docs:
            continue  # already failed above
        if problem:
            out(False, f"{label}: no x64 reference ({problem})")
            continue
        doc = docs[mode]
        if mode in UNIFORM:
            diffs = [f"{key} {doc.get(key)} vs {ref.get(key)}" for key in EXACT_KEYS if doc.get(key) != ref.get(key)]
            same = ", ".join(f"{key} {doc.get(key)}" for key in EXACT_KEYS)
            out(not diffs, f"{label}: " + (f"identical ({same})" if not diffs else "differ: " + "; ".join(diffs)))
        else:
            # The fp32 recompute kernels sum in a different order on each ISA (AdvSimd 1x16 here, AVX-512/AVX2
            # on x64), so a component near the flag threshold may be flagged on one and not the other: allow
            # a small absolute difference instead of equality.
            deltas = {key: abs(num(doc.get(key)) - num(ref.get(key))) for key in CLOSE_KEYS}
            ok = all(v <= TOLERANCE for v in deltas.values())  # NaN fails
            detail = ", ".join(f"{key} {num(doc.get(key)):.4f} vs {num(ref.get(key)):.4f} (|d| {deltas[key]:.4f})"
                               for key in CLOSE_KEYS)
            out(ok, f"{label} within {TOLERANCE}: {detail}")


if __name__ == "__main__":
    main()
