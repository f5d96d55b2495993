#!/usr/bin/env bash
# ARM64 harness: cross-compiles `ema` with NativeAOT for linux-arm64 and runs it under qemu user-mode
# emulation on the core of every supported board. Needs the .NET 10 SDK and the Debian packages
#   clang lld gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
# (tests/setup.sh, run by tests/run.sh, installs them). Idempotent: publishes are incremental, scratch files go to a temp dir.
#
#   tests/arm64/run-qemu.sh                 baseline + linux-x64 + rpi5 profile + evals (about 4-5 minutes)
#   tests/arm64/run-qemu.sh --all-profiles  also the rpi4, jetson-nano and jetson-orin profiles
#   tests/arm64/run-qemu.sh --no-publish    reuse artifacts/publish/* from an earlier run
#   tests/arm64/run-qemu.sh --no-eval       skip the Fashion-MNIST evals (saves about 2.5 minutes)
#
# Checks, one `PASS`/`FAIL` line each, then `arm64 checks: N passed, M failed` (tests/run.sh sums it
# into the test summary). Exit code 1 on any failure, 2 when a prerequisite is missing.
#   publish      linux-arm64 and linux-x64 (NativeAOT) publish, binaries stripped
#   x64          doctor (x86-64-v3 build: Avx2 used where the CPU has it, no `unused` level); gesture-mlp `ema run` reference; Fashion-MNIST tanh MLP `ema eval --json` in modes i8,
#                adaptive, f16acc and `adaptive --low f16acc` (first 200 samples): bound_violations 0
#   per core     (linux-arm64 baseline binary on cortex-a72, cortex-a76, cortex-a57, neoverse-n1)
#                selftest; doctor (Arm64, NativeAOT build line, AdvSimd, Dp/Fp16Native as the core has them, no `unused`);
#                gesture-mlp `ema run` accuracy equal to x64; the four Fashion-MNIST evals, each with
#                bound_violations 0; kernels chosen: i8-gemv-8x16-advsimd (SMLAL) + an emulated f16acc
#                variant on a72/a57, i8-gemv-8x16-dp (SDOT) + f16acc-gemv-8-fp16native on a76/n1;
#                i8 and f16acc modes give exactly x64's top1, agreement and mean_rel_error (as printed);
#                both adaptive modes within 0.01 of x64 in agreement and recompute_fraction
#                (tests/arm64/eval_check.py does the JSON checks)
#   profiles     board profiles: selftest, doctor, and a Dp build refusing to start on cortex-a72
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

all_profiles=0 publish=1 evals=1
for a in "$@"; do
  case "$a" in
    --all-profiles) all_profiles=1 ;;
    --no-publish) publish=0 ;;
    --no-eval) evals=0 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "run-qemu.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

# Board cores as qemu 7.2 models them (docs: /work/shared/design/PLATFORM.md, boards/).
# core:board:Dp and FEAT_FP16 expected (yes/no)
cores=(
  "cortex-a72:Raspberry Pi 4:no"
  "cortex-a76:Raspberry Pi 5:yes"
  "cortex-a57:Jetson Nano:no"
  "neoverse-n1:Jetson Orin:yes"
)
# Board profile -> the core it is run on. The baseline linux-arm64 binary runs on every core.
board_profiles=("rpi5:cortex-a76")
[ "$all_profiles" = 1 ] && board_profiles+=("jetson-orin:neoverse-n1" "rpi4:cortex-a72" "jetson-nano:cortex-a57")

sysroot=/usr/aarch64-linux-gnu
qemu=qemu-aarch64-static
model=tests/fixtures/gesture/gesture-mlp.ema
x=tests/fixtures/gesture/gesture-x.npy
y=tests/fixtures/gesture/gesture-y.npy
# Fashion-MNIST tanh MLP evals: a bundled .ema if one exists, else converted from the ONNX file below.
fm_onnx=tests/fixtures/fmnist-mlp-tanh.onnx
fm_x=tests/fixtures/fmnist-x.npy
fm_y=tests/fixtures/fmnist-y.npy
fm_limit=200 # qemu is slow: the four modes take 20-45 s per core at 200 samples
eval_modes=(i8 adaptive f16acc adaptive-f16acc) # adaptive-f16acc = `--mode adaptive --low f16acc`

missing=()
for t in "$qemu" clang ld.lld aarch64-linux-gnu-gcc dotnet python3; do command -v "$t" >/dev/null || missing+=("$t"); done
[ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || missing+=("$sysroot/lib/ld-linux-aarch64.so.1")
if [ ${#missing[@]} -gt 0 ]; then
  echo "run-qemu.sh: missing ${missing[*]}" >&2
  echo "  install: apt-get install -y clang lld gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static (or run .ci/run)" >&2
  echo "arm64 checks: 0 passed, 1 failed"
  exit 2
fi

source tests/harness.sh  # we are at the repository root (cd above)
ev=$tmp/eval eval_secs=0 # eval JSON files; seconds spent on the eval checks
mkdir -p "$ev"

publish_profile() { # profile
  local p=$1 start=$SECONDS
  if [ "$publish" = 1 ]; then
    if dotnet publish runtime/Ema.Cli -c Release -p:PublishProfile="$p" >"$tmp/publish-$p.log" 2>&1; then
      pass "publish $p ($((SECONDS - start)) s)"
    else
      tail -30 "$tmp/publish-$p.log" >&2
      fail "publish $p (log above)"
      return 1
    fi
  fi
  local bin=artifacts/publish/$p/ema
  if [ ! -x "$bin" ]; then fail "publish $p: $bin is missing"; return 1; fi
  if readelf -S "$bin" 2>/dev/null | grep -q '\.symtab'; then fail "$p: $bin is not stripped"; else
    pass "$p: stripped binary $bin $(stat -c %s "$bin") bytes ($(awk "BEGIN {printf \"%.2f\", $(stat -c %s "$bin") / 1048576}") MiB)"
  fi
}

# ema under qemu; stdout to $tmp/out, exit code in $rc
q() { # core binary args...
  local core=$1 bin=$2; shift 2
  # (the subshell keeps bash's "Aborted" job notice out of the log when a binary refuses to start)
  # (ulimit -c 0: no qemu_*.core file in the checkout when a binary aborts)
  (ulimit -c 0; timeout 300 "$qemu" -cpu "$core" -L "$sysroot" "$bin" "$@" >"$tmp/out" 2>"$tmp/err"; r=$?; exit $r) 2>/dev/null; rc=$?
}

# doctor's `isa NAME yes|no` line
isa() { awk -v n="$2" '$1 == "isa" && $2 == n {print $3}' "$1"; }

check_selftest() { # core binary label
  q "$1" "$2" selftest
  local summary; summary=$(tail -1 "$tmp/out")
  if [ "$rc" = 0 ] && grep -qE '^selftest: [0-9]+ ok, 0 failed, [0-9]+ skipped$' <<<"$summary"; then
    pass "$3 selftest: $summary"
  else
    cat "$tmp/out" "$tmp/err" >&2
    fail "$3 selftest: exit $rc, ${summary:-no output}"
  fi
  grep -E '^path ' "$tmp/out" | sed "s|^|    $3 |"
}

check_doctor() { # core binary label expectDp profile
  q "$1" "$2" doctor
  local d=$tmp/doctor-${3//\//-} dp fp16 problems=()
  cp "$tmp/out" "$d"
  [ "$rc" = 0 ] || problems+=("exit $rc")
  grep -qx 'arch       Arm64' "$d" || problems+=("arch is not Arm64")
  grep -q '^build      NativeAOT, linux-arm64, profile '"$5"',' "$d" || problems+=("build line does not name NativeAOT linux-arm64 profile $5")
  [ "$(isa "$d" AdvSimd)" = yes ] || problems+=("no AdvSimd")
  dp=$(isa "$d" Dp); fp16=$(isa "$d" Fp16Native)
  [ "$dp" = "$4" ] || problems+=("Dp=$dp, expected $4")
  [ "$fp16" = "$4" ] || problems+=("Fp16Native=$fp16, expected $4")
  grep -q '^unused ' "$d" && problems+=("$(grep '^unused ' "$d")") # AT_HWCAP names a level the binary does not use
  if [ ${#problems[@]} -eq 0 ]; then
    pass "$3 doctor: $(grep '^features' "$d" | sed 's/^features *//')"
  else
    cat "$d" "$tmp/err" >&2
    fail "$3 doctor: ${problems[*]}"
  fi
  grep -E '^kernel' "$d" | sed "s|^|    $3 |"
}

check_run() { # core binary label reference-line
  q "$1" "$2" run "$model" --input "$x" --labels "$y" --show 0 --output "$tmp/logits-$1.npy"
  local acc; acc=$(grep '^top-1 accuracy' "$tmp/out")
  if [ "$rc" = 0 ] && [ -n "$acc" ] && [ "$acc" = "$4" ]; then
    local same="logits bit-identical to x64"
    cmp -s "$tmp/logits-$1.npy" "$tmp/logits-x64.npy" || same="logits differ from x64 in some bits (accuracy line equal)"
    pass "$3 run gesture-mlp: $acc ($same)"
  else
    cat "$tmp/out" "$tmp/err" >&2
    fail "$3 run gesture-mlp: exit $rc, '${acc:-no accuracy line}' vs x64 '$4'"
  fi
}

# `ema eval` of the Fashion-MNIST model in every mode: $ev/TARGET-MODE.json, .err, .rc
run_evals() { # target command... (the command runs ema)
  local target=$1 m mode_args; shift
  for m in "${eval_modes[@]}"; do
    mode_args=(--mode "$m"); [ "$m" = adaptive-f16acc ] && mode_args=(--mode adaptive --low f16acc)
    (ulimit -c 0; timeout 300 "$@" eval "$fm_model" --input "$fm_x" --labels "$fm_y" --limit "$fm_limit" \
      "${mode_args[@]}" --json >"$ev/$target-$m.json" 2>"$ev/$target-$m.err"; r=$?; exit $r) 2>/dev/null
    echo $? >"$ev/$target-$m.rc"
  done
}

# eval_check.py's PASS/FAIL lines through pass/fail (so they are counted), other lines as they are
check_evals() { # target [yes|no: core has Dp and FEAT_FP16]
  local line
  python3 tests/arm64/eval_check.py "$ev" "$@" >"$ev/check-$1.out" 2>&1 || fail "$1 eval_check.py exit $?: $(tail -1 "$ev/check-$1.out")"
  while IFS= read -r line; do
    case "$line" in
      "PASS "*) pass "${line#PASS }" ;;
      "FAIL "*) fail "${line#FAIL }" ;;
      *) echo "$line" ;;
    esac
  done <"$ev/check-$1.out"
  for m in "${eval_modes[@]}"; do # show why an eval failed
    [ "$(cat "$ev/$1-$m.rc" 2>/dev/null)" = 0 ] || sed "s|^|    $1 $m: |" "$ev/$1-$m.err" | head -20 >&2
  done
}

echo "== publish (NativeAOT, Release)"
publish_profile linux-arm64; arm_ok=$?
publish_profile linux-x64; x64_ok=$?

# The x64 reference: the same NativeAOT board build (EmaNoConverter) on this machine.
ref=""
if [ "$x64_ok" = 0 ]; then
  # Its AVX2 kernels are compiled in (x86-64-v3; NativeAOT folds IsSupported to the compile-time set) and the
  # binary sees every level this CPU has (no `unused` line).
  artifacts/publish/linux-x64/ema doctor >"$tmp/doctor-x64" 2>&1
  x64_problems=()
  if grep -qw avx2 /proc/cpuinfo; then [ "$(isa "$tmp/doctor-x64" Avx2)" = yes ] || x64_problems+=("Avx2 not used on an AVX2 CPU"); fi
  grep -q '^unused ' "$tmp/doctor-x64" && x64_problems+=("$(grep '^unused ' "$tmp/doctor-x64")")
  grep -q '^build      NativeAOT, linux-x64, profile linux-x64, instruction set x86-64-v3$' "$tmp/doctor-x64" || x64_problems+=("build line does not name x86-64-v3")
  if [ ${#x64_problems[@]} -eq 0 ]; then pass "x64 doctor: $(grep '^features' "$tmp/doctor-x64" | sed 's/^features *//')"
  else cat "$tmp/doctor-x64" >&2; fail "x64 doctor: ${x64_problems[*]}"; fi
  artifacts/publish/linux-x64/ema run "$model" --input "$x" --labels "$y" --show 0 --output "$tmp/logits-x64.npy" >"$tmp/x64.out" 2>&1
  ref=$(grep '^top-1 accuracy' "$tmp/x64.out")
  if [ -n "$ref" ]; then pass "x64 run gesture-mlp: $ref"; else cat "$tmp/x64.out" >&2; fail "x64 run gesture-mlp: no accuracy line"; fi
fi

# The Fashion-MNIST model for the evals; the board builds have no converter, so convert with the x64 CLI.
fm_model=""
if [ "$evals" = 1 ]; then
  start=$SECONDS
  echo "== Fashion-MNIST tanh MLP evals on x64 ($fm_limit samples)"
  if [ -f tests/fixtures/fmnist-mlp-tanh.ema ]; then
    fm_model=tests/fixtures/fmnist-mlp-tanh.ema
    echo "    using the bundled $fm_model"
  elif dotnet run --project runtime/Ema.Cli -c Release -- convert "$fm_onnx" -o "$tmp/fmnist-mlp-tanh.ema" \
      --normalize 0.286,0.353 >"$tmp/convert.log" 2>&1; then
    fm_model=$tmp/fmnist-mlp-tanh.ema
    pass "convert $fm_onnx on x64 ($((SECONDS - start)) s, $(stat -c %s "$fm_model") bytes)"
  else
    tail -30 "$tmp/convert.log" >&2
    fail "convert $fm_onnx on x64 (log above)"
  fi
  if [ -n "$fm_model" ] && [ "$x64_ok" = 0 ]; then
    # The x64 reference: the linux-x64 NativeAOT build, natively.
    s1=$SECONDS
    run_evals x64 artifacts/publish/linux-x64/ema
    check_evals x64
    echo "    x64 evals: $((SECONDS - s1)) s"
  fi
  eval_secs=$((eval_secs + SECONDS - start))
fi

if [ "$arm_ok" = 0 ]; then
  for c in "${cores[@]}"; do
    IFS=: read -r core board dp <<<"$c"
    echo "== linux-arm64 baseline on $core ($board)"
    check_selftest "$core" artifacts/publish/linux-arm64/ema "$core"
    check_doctor "$core" artifacts/publish/linux-arm64/ema "$core" "$dp" linux-arm64
    if [ -n "$ref" ]; then check_run "$core" artifacts/publish/linux-arm64/ema "$core" "$ref"; fi
    if [ -n "$fm_model" ]; then
      start=$SECONDS
      run_evals "$core" "$qemu" -cpu "$core" -L "$sysroot" artifacts/publish/linux-arm64/ema
      check_evals "$core" "$dp"
      echo "    $core evals: $((SECONDS - start)) s"
      eval_secs=$((eval_secs + SECONDS - start))
    fi
  done
fi

for bp in "${board_profiles[@]}"; do
  IFS=: read -r profile core <<<"$bp"
  echo "== board profile $profile on $core"
  publish_profile "$profile" || continue
  dp=no; case "$core" in cortex-a76|neoverse-n1) dp=yes ;; esac
  check_selftest "$core" "artifacts/publish/$profile/ema" "$profile/$core"
  check_doctor "$core" "artifacts/publish/$profile/ema" "$profile/$core" "$dp" "$profile"
  if [ "$dp" = yes ]; then
    # Dot product is compiled in unconditionally: on a core without it the binary must refuse to start
    # (NativeAOT's startup check), never run into an illegal instruction later.
    q cortex-a72 "artifacts/publish/$profile/ema" doctor
    if [ "$rc" != 0 ] && grep -q 'instruction sets are not supported' "$tmp/err"; then
      pass "$profile/cortex-a72 refuses to start: $(grep -m1 'instruction sets' "$tmp/err")"
    else
      fail "$profile/cortex-a72 should refuse to start (exit $rc)"
    fi
  fi
done

[ -n "$fm_model" ] && echo "fmnist eval checks: $eval_secs s (conversion, x64 and the four cores)"
echo "arm64 harness: $((SECONDS - t0)) s"
echo "arm64 checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
