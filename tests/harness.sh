# Sourced by the shell harnesses (tests/arm64/run-qemu.sh, tests/native/run-c-example.sh): a scratch directory
# removed on exit, the PASS/FAIL counters and their lines, and the start time.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
t0=$SECONDS
