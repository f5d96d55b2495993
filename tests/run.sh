#!/usr/bin/env bash
# The project's one test entry point, and what CI (.ci/run) runs:
#   1. dotnet test EdgeMixedAccum.sln -c Release   (every xunit project, on this x64 machine; Release so the
#                                        kernels are optimised and the large fixtures are checked in full)
#   2. tests/arm64/run-qemu.sh          (NativeAOT linux-arm64 build run under qemu on the Pi 4/5 and
#                                        Jetson Nano/Orin cores; needs clang lld gcc-aarch64-linux-gnu
#                                        libc6-dev-arm64-cross qemu-user-static, which tests/setup.sh
#                                        installs when missing)
# Arguments go to run-qemu.sh (e.g. --all-profiles). EMA_SKIP_ARM64=1 skips step 2 (counted as skipped).
# Both steps always run; the last line is `tests: N passed, M failed, K skipped` over both, and the
# exit code is non-zero when either step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
tests/setup.sh || echo "warning: tests/setup.sh could not install the ARM64 packages" >&2
dlog=$(mktemp) qlog=$(mktemp)
trap 'rm -f "$dlog" "$qlog"' EXIT

# A test that hangs is aborted (with a dump under TestResults) and counted as failed, instead of holding CI.
dotnet test EdgeMixedAccum.sln -c Release --blame-hang-timeout 10m 2>&1 | tee "$dlog"
dstatus=${PIPESTATUS[0]}
passed=$(grep -oE 'Passed: +[0-9]+' "$dlog" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$dlog" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$dlog" | awk '{s+=$2} END {print s+0}')
# A build failure or crash reports no failed test; count it as one so the summary cannot read clean.
if [ "$dstatus" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi

qstatus=0
if [ "${EMA_SKIP_ARM64:-0}" = 1 ]; then
  echo "arm64 harness skipped (EMA_SKIP_ARM64=1)"
  skipped=$((skipped + 1))
else
  tests/arm64/run-qemu.sh "$@" 2>&1 | tee "$qlog"
  qstatus=${PIPESTATUS[0]}
  line=$(grep -E '^arm64 checks: [0-9]+ passed, [0-9]+ failed$' "$qlog" | tail -1)
  if [ -n "$line" ]; then
    passed=$((passed + $(awk '{print $3}' <<<"$line")))
    failed=$((failed + $(awk '{print $5}' <<<"$line")))
  fi
  if [ "$qstatus" -ne 0 ] && { [ -z "$line" ] || [ "$(awk '{print $5}' <<<"$line")" -eq 0 ]; }; then failed=$((failed + 1)); fi
fi

# The C ABI from C (x64, and arm64 under qemu unless EMA_SKIP_ARM64=1): its own 'c-abi checks' line.
clog=$(mktemp)
tests/native/run-c-example.sh 2>&1 | tee "$clog"
cstatus=${PIPESTATUS[0]}
c=$(grep -E '^c-abi checks: [0-9]+ passed, [0-9]+ failed$' "$clog" | tail -1)
read -r _ _ cp _ cf _ <<<"${c:-c-abi checks: 0 passed, 1 failed}"
passed=$((passed + cp)); failed=$((failed + cf))
if [ "$cstatus" -ne 0 ] && [ "$cf" -eq 0 ]; then failed=$((failed + 1)); fi
rm -f "$clog"

# The NuGet package as a user consumes it: pack, restore by version, run, NativeAOT publish, run.
if tests/nuget/run-sample.sh; then passed=$((passed + 1)); nstatus=0; else failed=$((failed + 1)); nstatus=1; fi

echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$dstatus" -eq 0 ] && [ "$qstatus" -eq 0 ] && [ "$cstatus" -eq 0 ] && [ "$nstatus" -eq 0 ]
