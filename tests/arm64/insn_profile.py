#!/usr/bin/env python3
"""ARM64 profile by function without ARM hardware: executed instructions per function of the NativeAOT `ema`,
from the insn-count plugin's per-block counts (pcs=FILE) and the binary's symbols (ema.dbg, read with nm).

    qemu-aarch64 -cpu cortex-a76 -L /usr/aarch64-linux-gnu \\
        -plugin artifacts/insn-count/libinsncount.so,pcs=/tmp/pcs.txt \\
        artifacts/publish/linux-arm64/ema run M.ema --input X.npy --mode i8 --show 0
    tests/arm64/insn_profile.py /tmp/pcs.txt [--minus /tmp/pcs-fewer-rows.txt] [--dbg artifacts/publish/linux-arm64/ema.dbg] [--top 30]

qemu-user maps a position-independent aarch64 binary at 0x5500000000 (`qemu-aarch64 -d page` shows it);
--base overrides. Blocks outside the binary (libc, the loader) are summed under "(outside ema)". A profile of a
run includes start-up and model loading: subtract a run of fewer rows (as insn-count.sh does) for per-row costs.
"""
import argparse, bisect, collections, subprocess, sys

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pcs")
    ap.add_argument("--dbg", default="artifacts/publish/linux-arm64/ema.dbg")
    ap.add_argument("--base", default="0x5500000000")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--minus", help="a second pcs file (a run of fewer rows) to subtract: per-row costs without start-up")
    a = ap.parse_args()
    base = int(a.base, 16)
    syms = []
    for line in subprocess.run(["nm", "--defined-only", a.dbg], capture_output=True, text=True, check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            syms.append((int(parts[0], 16), parts[2]))
    syms.sort()
    addrs = [s[0] for s in syms]
    end = syms[-1][0] + 0x100000 if syms else 0
    by = collections.Counter()  # function -> instructions
    total = 0
    runs = [(a.pcs, 1)] + ([(a.minus, -1)] if a.minus else [])
    for path, sign in runs:
      for line in open(path):
        pc, n = line.split()
        pc, n = int(pc, 16) - base, sign * int(n)
        total += n
        k = bisect.bisect_right(addrs, pc) - 1
        by[syms[k][1] if 0 <= k and 0 <= pc < end else "(outside ema)"] += n
    print(f"| function | instructions | share |\n|---|---:|---:|")
    for name, n in by.most_common(a.top):
        if n <= 0: break
        short = name.replace("EdgeMixedAccum_Runtime_EdgeMixedAccum_Runtime_", "").replace("EdgeMixedAccum_Core_EdgeMixedAccum_", "")
        print(f"| {short} | {n:,} | {100 * n / max(total, 1):.1f} % |")
    print(f"| total | {total:,} | |")

if __name__ == "__main__":
    sys.exit(main())
