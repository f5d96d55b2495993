// A sensor application as a user writes it against the EdgeMixedAccum.Runtime package: open a model, read an
// IMU (here the simulated MPU6050; "i2c:mpu6050?bus=1" on a board), classify sliding windows, print each result
// with how far to trust it.
using EdgeMixedAccum.Runtime.Engine;
using EdgeMixedAccum.Runtime.Loop;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: SensorApp MODEL.ema [SOURCE] [INFERENCES]");
    return 2;
}
var source = SourceSpec.Parse(args.Length > 1 ? args[1] : "sim:mpu6050").Open();
int count = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;
using var session = Session.Load(args[0], new SessionOptions { Mode = RunMode.Adaptive });
int window = session.InputLength / source.Channels;
using var cts = new CancellationTokenSource();
int seen = 0;
var runner = new LoopRunner(source, window, window / 4, 0, new SessionInference(session));
var summary = runner.Run(r =>
{
    Console.WriteLine($"sample {r.SampleIndex}: class {r.ClassIndex} (p = {r.Score:F3}), recomputed {r.RecomputeFraction:P1}, error bound {r.MaxErrorBound:E1}");
    if (++seen >= count) cts.Cancel();
}, cts.Token);
Console.WriteLine($"{summary.Inferences} inferences, {summary.FaultsRecovered}/{summary.Faults} faults recovered");
source.Dispose();
return summary.Inferences == count ? 0 : 1;
