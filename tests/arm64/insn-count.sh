#!/usr/bin/env bash
# ARM64 cost without ARM hardware: executed instructions per inference, counted by a qemu TCG plugin
# (tests/arm64/insn-count/insncount.c) while the NativeAOT linux-arm64 `ema` runs under qemu-aarch64
# on the core of every ARM64 board (boards/*/board.json: qemu_cpu). Timings under qemu mean nothing;
# instruction counts are repeatable. docs/insn-count.md explains the figures.
#
#   tests/arm64/insn-count.sh [--quick] [--out FILE.md] [--rows N] [--jobs J] [--publish|--no-publish] [--no-batch1]
#
#   --quick       smoke check: fmnist-mlp-tanh on rpi5 (cortex-a76) only, 8 and 16 rows
#   --out FILE    also write the markdown report to FILE (it always goes to stdout)
#   --rows N      N (default 20): every case runs `ema run` on N rows and on 2N rows (the same N rows
#                 twice) and reports (count(2N) - count(N)) / N, the cost of one inference
#   --jobs J      qemu runs at a time (default: the number of cores)
#   --publish     publish the linux-arm64 binary even when artifacts/publish/linux-arm64/ema looks current
#   --no-publish  never publish (fail if the binary is missing)
#   --no-batch1   skip the batch-1 runs (by default every case is also counted at batch 1: `ema bench
#                 --warmup 0 --runs N` and `--runs 2N` over the N rows, the sensor loop's cost per inference)
#
# Cases: fixtures fmnist-mlp-tanh, fmnist-mlp-relu, fmnist-cnn, imu-conv1d (converted on x64 with
# `dotnet run --project runtime/Ema.Cli -c Release -- convert`, normalisation from fixtures.json) x
# boards rpi4 (cortex-a72), rpi5 (cortex-a76), jetson-nano (cortex-a57), jetson-orin (neoverse-n1) x
# modes f32, i8, adaptive, and f16acc on the boards with FEAT_FP16 (asimdhp); and on rpi5 fmnist-mlp-tanh
# also i8 with --kernels generic and f16acc with --estimator rownorm. One case (i8 on rpi5) is
# measured a second time to show the repeatability. The i8 rows of rpi4 and rpi5 compare the AdvSimd
# SMLAL kernel with the SDOT kernel.
#
# Needs: the .NET 10 SDK; Debian packages clang lld gcc-aarch64-linux-gnu libc6-dev-arm64-cross (the
# cross publish), qemu-user (the dynamic qemu-aarch64: qemu-aarch64-static cannot load plugins),
# gcc libglib2.0-dev (the plugin). Work files: artifacts/insn-count/ (plugin, models, inputs, runs).
# Exit code 0, 1 when a case failed, 2 when a prerequisite is missing.
set -uo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
start=$SECONDS

quick=0 out="" n=20 jobs=$(nproc 2>/dev/null || echo 2) publish=auto n_set=0 batch1=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --out) out=${2:?--out needs a file}; shift ;;
    --rows) n=${2:?--rows needs a number}; n_set=1; shift ;;
    --jobs) jobs=${2:?--jobs needs a number}; shift ;;
    --publish) publish=always ;;
    --no-publish) publish=never ;;
    --no-batch1) batch1=0 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "insn-count.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ "$quick" = 1 ] && [ "$n_set" = 0 ] && n=8

sysroot=/usr/aarch64-linux-gnu
qemu=qemu-aarch64
work=artifacts/insn-count
bin=artifacts/publish/linux-arm64/ema
plugin=$work/libinsncount.so
plugin_src=tests/arm64/insn-count/insncount.c
py=tests/arm64/insn_count.py
all_fixtures=(fmnist-mlp-tanh fmnist-mlp-relu fmnist-cnn imu-conv1d)
all_modes=(f32 i8 adaptive f16acc)

missing=()
for t in "$qemu" gcc pkg-config clang ld.lld aarch64-linux-gnu-gcc dotnet python3; do command -v "$t" >/dev/null || missing+=("$t"); done
[ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || missing+=("$sysroot/lib/ld-linux-aarch64.so.1")
pkg-config --exists glib-2.0 2>/dev/null || missing+=("glib-2.0 (libglib2.0-dev)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "insn-count.sh: missing ${missing[*]}" >&2
  echo "  install: apt-get install -y qemu-user libglib2.0-dev gcc clang lld gcc-aarch64-linux-gnu libc6-dev-arm64-cross" >&2
  exit 2
fi
mkdir -p "$work/models" "$work/inputs"
runs=$work/runs
rm -rf "$runs"; mkdir -p "$runs"

# 1. The plugin (rebuilt when its source is newer).
if [ ! -f "$plugin" ] || [ "$plugin_src" -nt "$plugin" ]; then
  # shellcheck disable=SC2046
  if ! gcc -O2 -Wall -shared -fPIC $(pkg-config --cflags glib-2.0) "$plugin_src" -o "$plugin" $(pkg-config --libs glib-2.0); then
    echo "insn-count.sh: building the plugin failed" >&2; exit 2
  fi
  echo "built $plugin" >&2
fi

# 2. The linux-arm64 binary (reused when no source is newer than it).
sources_newer() { # file: is any source of the binary newer than it?
  [ -n "$(find runtime src converters publish-profiles Directory.Build.props -newer "$1" -type f \
    \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.targets' -o -name '*.pubxml' -o -name '*.c' -o -name '*.h' \) \
    -not -path '*/bin/*' -not -path '*/obj/*' -print -quit 2>/dev/null)" ]
}
if [ "$publish" = always ] || { [ "$publish" = auto ] && { [ ! -x "$bin" ] || sources_newer "$bin"; }; }; then
  echo "publishing linux-arm64 (NativeAOT) ..." >&2
  if ! dotnet publish runtime/Ema.Cli -c Release -p:PublishProfile=linux-arm64 >"$work/publish.log" 2>&1; then
    tail -30 "$work/publish.log" >&2; echo "insn-count.sh: publish failed (log above)" >&2; exit 2
  fi
fi
[ -x "$bin" ] || { echo "insn-count.sh: $bin is missing (run without --no-publish)" >&2; exit 2; }

# 3. Cases.
if [ "$quick" = 1 ]; then fixtures=(fmnist-mlp-tanh); board_filter=rpi5; else fixtures=("${all_fixtures[@]}"); board_filter=""; fi
mapfile -t boards < <(python3 "$py" boards)
cases=$work/cases.txt; : >"$cases"
for fx in "${fixtures[@]}"; do
  for b in "${boards[@]}"; do
    read -r board core _ fp16 <<<"$b"
    [ -n "$board_filter" ] && [ "$board" != "$board_filter" ] && continue
    for m in "${all_modes[@]}"; do
      [ "$m" = f16acc ] && [ "$fp16" != yes ] && continue
      echo "$fx $board $core $m" >>"$cases"
    done
  done
done
# Variants of one model on rpi5: the scalar reference kernels (--kernels generic) against the SDOT kernel,
# and f16acc with the rownorm estimator (no fp32 |w|.|x| pass beside the fp16 dot) against the fused one.
if [ "$quick" = 0 ] && grep -q '^fmnist-mlp-tanh rpi5 ' "$cases"; then
  for v in i8+generic f16acc+rownorm; do echo "fmnist-mlp-tanh rpi5 cortex-a76 $v" >>"$cases"; done
fi

# 4. Models (converted on x64, reused when newer than the ONNX file and the sources) and inputs.
built=0
while read -r fx onnx input norm; do
  ema=$work/models/$fx.ema
  if [ ! -f "$ema" ] || [ "$onnx" -nt "$ema" ] || sources_newer "$ema"; then
    args=(convert "$onnx" -o "$ema"); [ "$norm" != - ] && args+=(--normalize "$norm")
    nb=(); [ "$built" = 1 ] && nb=(--no-build)
    if ! dotnet run --project runtime/Ema.Cli -c Release "${nb[@]}" -- "${args[@]}" >"$work/convert-$fx.log" 2>&1; then
      tail -20 "$work/convert-$fx.log" >&2; echo "insn-count.sh: converting $onnx failed" >&2; exit 2
    fi
    built=1
    echo "converted $onnx -> $ema" >&2
  fi
  for r in 1 2; do python3 "$py" rows "$input" "$work/inputs/$fx-$n-x$r.npy" "$n" "$r" || exit 2; done
done < <(python3 "$py" fixtures "${fixtures[@]}")

# 5. The qemu runs: every case with N and 2N rows; i8 on rpi5 (or the first case) once more as "repeat".
repeat_case=$(grep -m1 ' rpi5 cortex-a76 i8$' "$cases" || head -1 "$cases")
read -r rfx rboard rcore rmode <<<"$repeat_case"
joblist=$work/jobs.txt; : >"$joblist"
while read -r fx board core m; do
  for rows in "$n" "$((2 * n))"; do
    echo "$fx $board $core $m $rows ${fx}__${board}__$m run" >>"$joblist"
    [ "$batch1" = 1 ] && echo "$fx $board $core $m $rows ${fx}__${board}__${m}__b1 b1" >>"$joblist"
  done
done <"$cases"
for rows in "$n" "$((2 * n))"; do echo "$rfx $rboard $rcore $rmode $rows repeat__${rfx}__${rboard}__$rmode run" >>"$joblist"; done

one_run() { # fixture board core mode rows stem kind(run: one batch of `rows` rows; b1: `rows` runs of batch 1)
  local fx=$1 core=$3 m=$4 rows=$5 stem=$6 kind=$7 r=1 args cmd
  [ "$rows" = "$n" ] || r=2
  args=(--mode "${m%%+*}") # MODE+generic: --kernels generic; MODE+ESTIMATOR: --estimator ESTIMATOR
  case "$m" in *+generic) args+=(--kernels generic) ;; *+*) args+=(--estimator "${m#*+}") ;; esac
  # Batch 1: `ema bench` with an exact run count and no warm-up, cycling through the same N rows (2N runs: the
  # N rows twice), so the difference is N more Session.Run calls of one sample each, their fixed cost included.
  if [ "$kind" = b1 ]; then cmd=(bench "$work/models/$fx.ema" --input "$work/inputs/$fx-$n-x1.npy" --warmup 0 --runs "$rows")
  else cmd=(run "$work/models/$fx.ema" --input "$work/inputs/$fx-$n-x$r.npy" --show 0); fi
  local o="$runs/${stem}__$rows"
  (ulimit -c 0; timeout 900 "$qemu" -cpu "$core" -L "$sysroot" -plugin "$plugin,top=100000,split=1" \
    "$bin" "${cmd[@]}" "${args[@]}" >"$o.out" 2>"$o.err"; echo $? >"$o.rc") 2>/dev/null
  echo "  $stem $rows rows: exit $(cat "$o.rc"), $(grep -m1 '^insns total' "$o.err" | cut -d' ' -f3) instructions" >&2
}
export -f one_run
export n runs qemu sysroot plugin bin work
grep -q '^' "$joblist" || { echo "insn-count.sh: no cases" >&2; exit 2; }
echo "$(wc -l <"$joblist") qemu runs, $jobs at a time ..." >&2
qstart=$SECONDS
xargs -P "$jobs" -L 1 bash -c 'one_run "$@"' _ <"$joblist"
failed=0
for rc in "$runs"/*.rc; do [ "$(cat "$rc")" = 0 ] || { failed=1; echo "FAILED: ${rc%.rc} (exit $(cat "$rc")):" >&2; tail -5 "${rc%.rc}.err" >&2; }; done

# 6. The report.
report=$work/report.md
python3 "$py" report "$runs" "$cases" "$n" --repeat "${rfx}__${rboard}__$rmode" "repeat__${rfx}__${rboard}__$rmode" \
  --seconds "$((SECONDS - qstart))" --jobs "$jobs" --runs "$(wc -l <"$joblist")" >"$report" || failed=1
echo "(whole script: $((SECONDS - start)) s)" >>"$report"
cat "$report"
[ -n "$out" ] && cp "$report" "$out"
exit "$failed"
