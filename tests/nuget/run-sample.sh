#!/bin/bash
# Packs EdgeMixedAccum.Core and EdgeMixedAccum.Runtime into a local feed, builds runtime/samples/SensorApp against
# the packed package (a PackageReference, not a project reference), runs it on a converted fixture model, then
# publishes it with NativeAOT for linux-x64 and runs the native binary. Exit 0 when both runs classify.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A version of its own, so a package cached from an earlier run is never picked up instead.
version="0.1.0-local.$(date +%s)"
feed="$work/feed"
mkdir -p "$feed"
dotnet pack src/EdgeMixedAccum.Core -c Release -o "$feed" -p:Version="$version" -v q -nologo
dotnet pack runtime/EdgeMixedAccum.Runtime -c Release -o "$feed" -p:Version="$version" -v q -nologo
cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
</configuration>
XML
cp -r runtime/samples/SensorApp "$work/app"
# The model: the 1D-conv IMU fixture, converted with this checkout's converter.
dotnet run --project runtime/Ema.Cli -c Release -- convert tests/fixtures/imu-conv1d.onnx -o "$work/imu.ema" >/dev/null
dotnet restore "$work/app" --configfile "$work/nuget.config" -p:EmaPackageVersion="$version" -v q
grep -q "\"EdgeMixedAccum.Runtime/$version\"" "$work/app/obj/project.assets.json" || { echo "FAIL: the sample did not restore the packed package $version"; exit 1; }
dotnet run --project "$work/app" --no-restore -p:EmaPackageVersion="$version" -- "$work/imu.ema" sim:mpu6050 5 | tee "$work/jit.txt"
grep -q "^5 inferences" "$work/jit.txt" || { echo "FAIL: JIT run"; exit 1; }
dotnet publish "$work/app" -c Release -r linux-x64 --no-restore -p:EmaPackageVersion="$version" -o "$work/aot" -v q -nologo 2>&1 | tail -5 || true
if [ ! -x "$work/aot/SensorApp" ]; then
  # publish with a runtime identifier needs a restore for it
  dotnet restore "$work/app" --configfile "$work/nuget.config" -r linux-x64 -p:EmaPackageVersion="$version" -v q
  dotnet publish "$work/app" -c Release -r linux-x64 --no-restore -p:EmaPackageVersion="$version" -o "$work/aot" -v q -nologo
fi
"$work/aot/SensorApp" "$work/imu.ema" 'sim:mpu6050?nack-every=9' 5 | tee "$work/aot.txt"
grep -q "^5 inferences" "$work/aot.txt" || { echo "FAIL: NativeAOT run"; exit 1; }
echo "PASS: SensorApp on the packed EdgeMixedAccum.Runtime $version (JIT and NativeAOT linux-x64)"
