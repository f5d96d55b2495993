#!/bin/bash
# Publishes the board's NativeAOT binary, copies it with the model and a systemd unit to the board over ssh,
# and starts the loop (boards/README.md).
#
#   boards/deploy.sh [--dry-run] BOARD USER@HOST MODEL.ema LOOP-ARGS...
#   boards/deploy.sh rpi5 pi@raspberrypi.local model.ema --source 'i2c:mpu6050?bus=1&addr=0x68' --window 64 --hop 16 --rate 100
#
# --dry-run prints every command (and the rendered unit) instead of running it. Needs ssh/scp access with sudo
# on the board; the binary goes to ~/ema on the board, the unit to /etc/systemd/system/ema-loop.service.
set -euo pipefail
cd "$(dirname "$0")/.."

dry=0
if [ "${1:-}" = "--dry-run" ]; then dry=1; shift; fi
if [ $# -lt 4 ]; then
  echo "usage: boards/deploy.sh [--dry-run] BOARD USER@HOST MODEL.ema LOOP-ARGS..." >&2
  echo "boards: $(ls boards | while read -r b; do [ -f "boards/$b/board.json" ] && printf '%s ' "$b"; done)" >&2
  exit 2
fi
board=$1 host=$2 model=$3; shift 3
json="boards/$board/board.json"
if [ ! -f "$json" ]; then
  echo "error: unknown board '$board' (no $json)" >&2; exit 2
fi
if [ "$dry" = 0 ] && [ ! -f "$model" ]; then
  echo "error: model '$model' does not exist" >&2; exit 2
fi
case "$host" in *@*) user=${host%%@*} ;; *) echo "error: '$host' is not USER@HOST" >&2; exit 2 ;; esac
profile=$(sed -n 's/.*"publish_profile": *"\([^"]*\)".*/\1/p' "$json")
[ -n "$profile" ] || { echo "error: $json has no publish_profile" >&2; exit 2; }
dir="/home/$user/ema"
name=$(basename "$model")
case "$name" in *[[:space:]]*) echo "error: model file name '$name' has white space (systemd's ExecStart path would split)" >&2; exit 2 ;; esac
# ExecStart takes no shell: quote each argument the systemd way (\ and " escaped, % and $ doubled).
shopt -u patsub_replacement 2>/dev/null || true  # bash 5.2: '&' in a replacement would mean the match
args=""
for a in "$@"; do
  a=${a//\\/\\\\}; a=${a//\"/\\\"}; a=${a//%/%%}; a=${a//\$/\$\$}
  args+=" \"$a\""
done
args=${args# }
unit=$(<boards/ema-loop.service)
unit=${unit//@BOARD@/$board}; unit=${unit//@MODEL@/$name}; unit=${unit//@USER@/$user}; unit=${unit//@DIR@/$dir}
unit=${unit//@ARGS@/$args}

run() {
  echo "+ $*"
  if [ "$dry" = 0 ]; then "$@"; fi
}

run dotnet publish runtime/Ema.Cli -c Release -p:PublishProfile="$profile"
run ssh "$host" "mkdir -p $dir"
run scp "artifacts/publish/$profile/ema" "$model" "$host:$dir/"
if [ "$dry" = 1 ]; then
  echo "+ (unit ema-loop.service)"
  echo "$unit"
else
  tmp=$(mktemp)
  echo "$unit" > "$tmp"
  run scp "$tmp" "$host:/tmp/ema-loop.service"
  rm -f "$tmp"
fi
run ssh "$host" "sudo mv /tmp/ema-loop.service /etc/systemd/system/ema-loop.service && sudo systemctl daemon-reload && sudo systemctl enable --now ema-loop.service && systemctl --no-pager status ema-loop.service"
echo "deployed $name to $host ($board, profile $profile); logs: ssh $host journalctl -u ema-loop -f"
