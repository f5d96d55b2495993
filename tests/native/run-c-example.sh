#!/usr/bin/env bash
# C ABI check: publishes libema.so (runtime/EdgeMixedAccum.Native, NativeAOT shared library), builds the C
# example runtime/examples/c/ema_example.c against runtime/ema.h, runs it on the bundled Fashion-MNIST tanh
# MLP (tests/fixtures/fmnist-mlp-tanh.ema) and compares its outputs for the first sample of
# tests/fixtures/fmnist-x.npy with the managed runtime's (`ema run` through `dotnet run`, JIT, same
# default options: adaptive with the model's plan).
#
#   tests/native/run-c-example.sh        linux-x64 natively, then linux-arm64 under qemu on four cores
#   EMA_SKIP_ARM64=1 tests/native/...    linux-x64 only
#
# Checks, one PASS/FAIL line each, then `c-abi checks: N passed, M failed`; exit 1 on any failure.
#   publish     libema.so for the RID, stripped, exporting the seven ema_* symbols
#   build       the example compiles with -Wall -Wextra -Werror (cc for x64, aarch64-linux-gnu-gcc for arm64)
#   run         the example exits 0 (its own checks: report in range, identical second run, NULL/bad path/NaN
#               error codes with messages, the model usable after errors)
#   compare     outputs equal to the managed runtime's: argmax equal and max |diff| <= 1e-4 * max(1, |y|)
#               (bit-identical is reported when it is); ema_last_report's recompute fraction equal to the
#               managed run's printed share of fp32 multiply-adds (within 0.01 percentage points)
# arm64: cortex-a72, cortex-a76, cortex-a57, neoverse-n1 (qemu-aarch64-static -L /usr/aarch64-linux-gnu).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

model=tests/fixtures/fmnist-mlp-tanh.ema
xs=tests/fixtures/fmnist-x.npy
example=runtime/examples/c/ema_example.c
sysroot=/usr/aarch64-linux-gnu
cores=(cortex-a72 cortex-a76 cortex-a57 neoverse-n1)
symbols=(ema_load ema_input_size ema_output_size ema_run ema_last_report ema_last_error ema_free)

source tests/harness.sh  # we are at the repository root (cd above)

# The first sample of fmnist-x.npy as raw float32 ($tmp/x0.f32) and as a one-sample .npy ($tmp/x0.npy).
python3 - "$xs" "$tmp" <<'EOF' || { echo "FAIL cannot extract the first sample of $xs"; echo "c-abi checks: 0 passed, 1 failed"; exit 1; }
import ast, struct, sys
data = open(sys.argv[1], 'rb').read()
assert data[:6] == b'\x93NUMPY'
major = data[6]
hlen = struct.unpack('<H', data[8:10])[0] if major == 1 else struct.unpack('<I', data[8:12])[0]
start = (10 if major == 1 else 12) + hlen
h = ast.literal_eval(data[(10 if major == 1 else 12):start].decode('latin1'))
assert h['descr'] == '<f4' and not h['fortran_order'], h
shape = (1,) + tuple(h['shape'][1:])
n = 1
for d in shape: n *= d
raw = data[start:start + 4 * n]
open(sys.argv[2] + '/x0.f32', 'wb').write(raw)
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (shape,)
hdr = hdr + ' ' * (63 - (10 + len(hdr)) % 64) + '\n'
open(sys.argv[2] + '/x0.npy', 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode('latin1') + raw)
EOF

# outputs of a .npy (float32) or raw .f32 file, one per line
floats() {
  python3 - "$1" <<'EOF'
import ast, struct, sys
data = open(sys.argv[1], 'rb').read()
if data[:6] == b'\x93NUMPY':
    hl = struct.unpack('<H', data[8:10])[0]
    assert ast.literal_eval(data[10:10 + hl].decode('latin1'))['descr'] == '<f4'
    data = data[10 + hl:]
for v in struct.unpack('<%df' % (len(data) // 4), data): print(repr(v))
EOF
}

compare() { # label c-output.f32
  local label=$1 out=$2 verdict
  verdict=$(python3 - "$tmp/ref.txt" <(floats "$out") <<'EOF'
import sys
ref = [float(l) for l in open(sys.argv[1])]
got = [float(l) for l in open(sys.argv[2])]
if len(ref) != len(got): print("FAIL %d outputs, managed %d" % (len(got), len(ref))); sys.exit()
am = lambda v: max(range(len(v)), key=lambda i: v[i])
d = max(abs(a - b) for a, b in zip(ref, got))
ok = am(ref) == am(got) and all(abs(a - b) <= 1e-4 * max(1.0, abs(a)) for a, b in zip(ref, got))
what = "bit-identical" if ref == got else "max |diff| %.3g" % d
print("%s %d outputs vs managed: %s, argmax %d (managed %d)" % ("PASS" if ok else "FAIL", len(got), what, am(got), am(ref)))
EOF
)
  case "$verdict" in
    PASS*) pass "$label ${verdict#PASS }" ;;
    *) fail "$label ${verdict#FAIL }" ;;
  esac
}

# the example's recompute_fraction against the managed run's "recomputed in fp32 X %" (within 0.01 points)
check_report() { # label example-output
  local c m
  c=$(sed -n 's/^report: rc 0, recompute_fraction \([0-9.]*\),.*/\1/p' "$2")
  m=$(sed -n 's/.*recomputed in fp32 \([0-9.]*\) %.*/\1/p' "$tmp/ref.log" | head -1)
  if [ -n "$c" ] && [ -n "$m" ] && awk -v c="$c" -v m="$m" 'BEGIN { d = c * 100 - m; exit !(d <= 0.01 && d >= -0.01) }'; then
    pass "$1 report: recompute fraction $c, managed $m %"
  else
    fail "$1 report: recompute fraction '${c:-none}' vs managed '${m:-none} %'"
  fi
}

publish() { # rid
  local rid=$1 start=$SECONDS lib=artifacts/native/$1/libema.so missing=()
  if dotnet publish runtime/EdgeMixedAccum.Native -c Release -r "$rid" >"$tmp/publish-$rid.log" 2>&1; then
    pass "publish libema.so $rid ($((SECONDS - start)) s, $(stat -c %s "$lib") bytes)"
  else
    tail -30 "$tmp/publish-$rid.log" >&2
    fail "publish libema.so $rid (log above)"
    return 1
  fi
  for s in "${symbols[@]}"; do nm -D --defined-only "$lib" | grep -q " T $s@" || missing+=("$s"); done
  if readelf -S "$lib" | grep -q '\.symtab'; then missing+=("(not stripped)"); fi
  if [ ${#missing[@]} -eq 0 ]; then pass "$rid libema.so exports the ${#symbols[@]} ema_* functions, stripped"; else fail "$rid libema.so: missing ${missing[*]}"; fi
}

echo "== managed reference (dotnet run --project runtime/Ema.Cli -c Release -- run, first sample)"
start=$SECONDS
if dotnet run --project runtime/Ema.Cli -c Release -- run "$model" --input "$tmp/x0.npy" --show 0 --output "$tmp/ref.npy" >"$tmp/ref.log" 2>&1; then
  floats "$tmp/ref.npy" >"$tmp/ref.txt"
  pass "managed ema run ($((SECONDS - start)) s): $(grep -m1 -i 'recompute\|fp32' "$tmp/ref.log" | sed 's/^ *//')"
else
  cat "$tmp/ref.log" >&2
  fail "managed ema run (log above)"
  : >"$tmp/ref.txt"
fi

echo "== linux-x64"
if publish linux-x64; then
  dir=$root/artifacts/native/linux-x64
  if cc -std=c11 -O2 -Wall -Wextra -Werror -I runtime "$example" -L "$dir" -lema -lm -Wl,-rpath,"$dir" -o "$tmp/ema_example-x64" 2>"$tmp/cc-x64.log"; then
    pass "x64 build ema_example (cc)"
    if "$tmp/ema_example-x64" "$model" "$tmp/x0.f32" "$tmp/y-x64.f32" >"$tmp/run-x64.out" 2>&1; then
      pass "x64 ema_example: $(grep '^report' "$tmp/run-x64.out"), $(grep -c '^ok ' "$tmp/run-x64.out") checks ok"
      compare "x64 C ABI" "$tmp/y-x64.f32"
      check_report x64 "$tmp/run-x64.out"
    else
      cat "$tmp/run-x64.out" >&2
      fail "x64 ema_example exit code $? (output above)"
    fi
  else
    cat "$tmp/cc-x64.log" >&2
    fail "x64 build ema_example (cc)"
  fi
fi

if [ "${EMA_SKIP_ARM64:-0}" = 1 ]; then
  echo "== linux-arm64 skipped (EMA_SKIP_ARM64=1)"
else
  echo "== linux-arm64 (cross-compiled, qemu)"
  missing=()
  for t in qemu-aarch64-static clang ld.lld aarch64-linux-gnu-gcc; do command -v "$t" >/dev/null || missing+=("$t"); done
  [ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || missing+=("$sysroot/lib/ld-linux-aarch64.so.1")
  if [ ${#missing[@]} -gt 0 ]; then
    fail "arm64 prerequisites missing: ${missing[*]} (tests/setup.sh installs them; EMA_SKIP_ARM64=1 skips)"
  elif publish linux-arm64; then
    dir=$root/artifacts/native/linux-arm64
    if aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Wextra -Werror -I runtime "$example" -L "$dir" -lema -lm -Wl,-rpath,"$dir" \
        -o "$tmp/ema_example-arm64" 2>"$tmp/cc-arm64.log"; then
      pass "arm64 build ema_example (aarch64-linux-gnu-gcc)"
      for core in "${cores[@]}"; do
        (ulimit -c 0; timeout 300 qemu-aarch64-static -cpu "$core" -L "$sysroot" "$tmp/ema_example-arm64" "$model" "$tmp/x0.f32" \
          "$tmp/y-$core.f32" >"$tmp/run-$core.out" 2>&1; r=$?; exit $r) 2>/dev/null; rc=$?
        if [ "$rc" = 0 ]; then
          pass "$core ema_example: $(grep '^report' "$tmp/run-$core.out"), $(grep -c '^ok ' "$tmp/run-$core.out") checks ok"
          compare "$core C ABI" "$tmp/y-$core.f32"
          check_report "$core" "$tmp/run-$core.out"
        else
          cat "$tmp/run-$core.out" >&2
          fail "$core ema_example exit code $rc (output above)"
        fi
      done
    else
      cat "$tmp/cc-arm64.log" >&2
      fail "arm64 build ema_example (aarch64-linux-gnu-gcc)"
    fi
  fi
fi

echo "c-abi harness: $((SECONDS - t0)) s"
echo "c-abi checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
