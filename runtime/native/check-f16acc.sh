#!/bin/sh
# Checks the native f16acc kernel (f16acc.c, FMLA .8H) bit for bit against the golden table computed by
# the exact reference, under qemu on FEAT_FP16 cores. Needs: gcc-aarch64-linux-gnu libc6-dev-arm64-cross
# qemu-user-static, and the .NET SDK (to write the golden table).
# Usage: runtime/native/check-f16acc.sh [-aot]   (from anywhere; exit 0 = all bits match on every core)
#   -aot also publishes aot-smoke/ with NativeAOT for linux-arm64 (needs clang lld too; the f16acc.targets
#   path: static library + DirectPInvoke) and runs its self-test on four qemu cores.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

EMA_F16ACC_DUMP="$tmp/golden.bin" dotnet test "$repo/tests/EdgeMixedAccum.Runtime.Tests" \
    --filter "FullyQualifiedName~F16GemvGoldenDump" -v q --nologo >"$tmp/test.log" 2>&1 || { cat "$tmp/test.log"; exit 1; }
test -s "$tmp/golden.bin"

CFLAGS="-O2 -march=armv8.2-a+fp16 -ffp-contract=off -Wall -Wextra -Werror"
aarch64-linux-gnu-gcc $CFLAGS -static "$here/f16acc.c" "$here/f16acc_check.c" -o "$tmp/f16acc_check"
n=$(aarch64-linux-gnu-objdump -d "$tmp/f16acc_check" | grep -cE 'fmla\s+v[0-9]+\.8h' || true)
echo "fmla .8h instructions: $n"
test "$n" -gt 0

status=0
for cpu in cortex-a76 neoverse-n1; do
    printf '%-12s ' "$cpu"
    qemu-aarch64-static -cpu "$cpu" "$tmp/f16acc_check" "$tmp/golden.bin" || status=1
done
# Cores without FEAT_FP16 must never run this code (CpuFeatures gates it): qemu raises SIGILL there.
printf '%-12s ' cortex-a72
if qemu-aarch64-static -cpu cortex-a72 "$tmp/f16acc_check" "$tmp/golden.bin" >/dev/null 2>&1; then
    echo "unexpectedly ran without FEAT_FP16"; status=1
else
    echo "faults as expected (no FEAT_FP16)"
fi

if [ "${1:-}" = "-aot" ]; then
    dotnet publish "$here/aot-smoke" -c Release -r linux-arm64 -p:PublishAot=true -p:CppCompilerAndLinker=clang \
        -p:SysRoot=/ -p:LinkerFlavor=lld -o "$tmp/aot" -v q --nologo >"$tmp/aot.log" 2>&1 || { cat "$tmp/aot.log"; exit 1; }
    for cpu in cortex-a76 neoverse-n1 cortex-a72 cortex-a57; do
        echo "== AOT on $cpu"
        qemu-aarch64-static -cpu "$cpu" -L /usr/aarch64-linux-gnu "$tmp/aot/f16acc-aot-smoke" || status=1
    done
fi
exit $status
