#!/usr/bin/env bash
# Coverage-guided fuzzing of one target with AFL++ and SharpFuzz (docs/fuzzing.md). Not part of tests/run.sh or CI.
#   tests/fuzz/run-afl.sh TARGET [SECONDS]     TARGET: ema | ema-raw | onnx | onnx-struct | canary; SECONDS default 600
# Needs the Debian package afl++ and the SharpFuzz instrumenter (dotnet tool SharpFuzz.CommandLine 2.3.0); it
# installs both when missing. Findings go to $EMA_FUZZ_OUT (default /tmp/ema-fuzz)/findings-TARGET; the
# execution count is execs_done in its default/fuzzer_stats.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?usage: tests/fuzz/run-afl.sh ema|ema-raw|onnx [SECONDS]}
secs=${2:-600}
out=${EMA_FUZZ_OUT:-/tmp/ema-fuzz}
corpus=tests/fuzz/corpus/${target%-raw}
[ "$target" = canary ] && corpus=tests/fuzz/corpus/ema
[ -d "$corpus" ] || { echo "no seed corpus $corpus" >&2; exit 2; }

if ! command -v afl-fuzz >/dev/null; then
  echo "installing afl++ (Debian)" >&2
  apt-get install -y -qq afl++ >/dev/null
fi
sharpfuzz=${SHARPFUZZ:-$HOME/.dotnet/tools/sharpfuzz}
if ! [ -x "$sharpfuzz" ] && ! command -v sharpfuzz >/dev/null; then
  dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0 >/dev/null
fi
command -v "$sharpfuzz" >/dev/null || sharpfuzz=sharpfuzz

# A private published copy whose project assemblies are instrumented (the normal build stays untouched).
bin="$out/bin-$target"
rm -rf "$bin"
dotnet publish tests/fuzz/EdgeMixedAccum.Fuzz -c Release -o "$bin" --nologo -v q >/dev/null
for dll in EdgeMixedAccum.Core EdgeMixedAccum.Runtime EdgeMixedAccum.Converters; do
  "$sharpfuzz" "$bin/$dll.dll"
done
case "$target" in onnx*) "$sharpfuzz" "$bin/Google.Protobuf.dll" ;; esac

# AFL_SKIP_BIN_CHECK: the binary afl-fuzz starts is dotnet; the instrumented code is in the assemblies.
# -t: per-input timeout in ms (the first inputs also JIT); -m none: .NET reserves a large address space.
# A run into an existing findings folder resumes it (AFL_AUTORESUME).
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_AUTORESUME=1 AFL_NO_AFFINITY=1
exec nice -n 19 afl-fuzz -V "$secs" -t 2000 -m none -i "$corpus" -o "$out/findings-$target" -- dotnet "$bin/EdgeMixedAccum.Fuzz.dll" "$target"
