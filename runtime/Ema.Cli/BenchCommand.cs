using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Runtime.Engine;
using EdgeMixedAccum.Runtime.Kernels;

namespace EdgeMixedAccum.Cli;

/// <summary>
/// `ema bench MODEL.ema [--mode ..] [--batch B] [--threads T] [--input X.npy] [--runs N] [--warmup N] [--json]`: latency of Session.Run after a warm-up,
/// median and p90 per run and per sample. With --input the runs cycle through the rows of real inputs, so adaptive
/// mode's timing includes the share recomputed on real data (random inputs recompute a different share).
/// </summary>
internal static class BenchCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Argument<FileInfo>("model") { Description = "the .ema model" };
        var batch = new Option<int>("--batch", "-b") { Description = "samples per run", DefaultValueFactory = _ => 1 };
        var input = new Option<FileInfo?>("--input", "-i") { Description = "real inputs (.npy): the runs cycle through its rows" };
        var runs = new Option<int?>("--runs") { Description = "timed runs (default: at least 20 and about 2 s)" };
        var json = new Option<bool>("--json") { Description = "one JSON object: median_us, p90_us, per_sample_us, ..." };
        var warmup = new Option<int?>("--warmup") { Description = "untimed runs first (default: at least 30 and 0.3 s, then a pause for tiered JIT); an exact count makes the work of a run deterministic, e.g. for instruction counts under qemu" };
        var cmd = new Command("bench", "Time the engine on a model: warm-up, then median and p90 latency per run and per sample");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { batch, input, runs, warmup, json }) cmd.Options.Add(o);
        var engine = EngineOptions.Create(cmd);
        cmd.SetAction(p =>
        {
            var m = CliApp.LoadModel(p.GetValue(model)!);
            int b = p.GetValue(batch);
            if (b < 1 || b > 4096) throw new EmaException($"--batch {b}: must be 1 to 4096");
            if (p.GetValue(runs) is < 1) throw new EmaException($"--runs {p.GetValue(runs)}: must be >= 1");
            if (p.GetValue(warmup) is < 0) throw new EmaException($"--warmup {p.GetValue(warmup)}: must be >= 0");
            var data = p.GetValue(input) is { } f ? Dataset.Load(m, f, null, null) : null;
            return Execute(m, engine.Read(p), engine.ModeName(p), b, data, p.GetValue(runs), p.GetValue(json), stdout, p.GetValue(warmup));
        });
        return cmd;
    }

    public static int Execute(EmaModel m, SessionOptions options, string mode, int batch, Dataset? data, int? runs, bool json, TextWriter o,
        int? warmup = null)
    {
        using var s = new Session(m, options with { MaxBatch = batch });
        if (batch > 1 && !s.AnyBatch) throw new EmaException($"--batch {batch}: the model's input has a fixed batch of 1");
        int inLen = s.InputLength;
        // The inputs of every run, laid out batch after batch: the rows of --input cycled, or seeded uniform [-1, 1].
        int distinct = data is null ? 16 : Math.Max(1, (data.Batch + batch - 1) / batch);
        var x = new float[(long)distinct * batch * inLen];
        if (data is null)
        {
            var rng = new Random(1);
            for (long i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        else
        {
            if (data.Batch == 0) throw new EmaException("--input has no rows");
            for (int r = 0; r < distinct * batch; r++) data.X.AsSpan((r % data.Batch) * inLen, inLen).CopyTo(x.AsSpan(r * inLen, inLen));
        }
        var y = new float[(long)batch * s.OutputLength];
        void RunOne(int k) => s.Run(x.AsSpan((k % distinct) * batch * inLen, batch * inLen), y, batch);

        // Warm-up: tiered JIT installs its optimised code after a few hundred calls and a short pause. An exact
        // --warmup count runs just that many (the timed runs then start at row `warmup`).
        int first = 0;
        if (warmup is { } w)
            for (; first < w; first++) RunOne(first);
        else WarmUp(RunOne);

        var times = new List<double>();
        double recompute = 0;
        var sw = Stopwatch.StartNew();
        for (int k = 0; runs is { } n ? k < n : (k < 20 || sw.Elapsed.TotalSeconds < 2) && k < 100_000; k++)
        {
            long t0 = Stopwatch.GetTimestamp();
            RunOne(first + k);
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
            recompute += s.LastReport.RecomputeFraction;
        }
        times.Sort();
        double median = Percentile(times, 0.5), p90 = Percentile(times, 0.9);
        string kernels = string.Join(",", s.Kernels.Chosen.Select(kv => kv.Value).Distinct());
        var inv = CultureInfo.InvariantCulture;
        string N(double v) => v.ToString("0.###", inv);
        if (json)
        {
            o.WriteLine("{" + string.Join(",",
                $"\"model\":\"{JsonEscape(m.Metadata.ModelName)}\"", $"\"mode\":\"{mode}\"", $"\"batch\":{batch}", $"\"threads\":{options.Threads}", $"\"runs\":{times.Count}",
                $"\"inputs\":\"{(data is null ? "uniform[-1,1]" : "file")}\"",
                $"\"median_us\":{N(median)}", $"\"p90_us\":{N(p90)}", $"\"per_sample_us\":{N(median / batch)}",
                $"\"samples_per_s\":{N(batch / median * 1e6)}", $"\"recompute_fraction\":{N(recompute / times.Count)}",
                $"\"kernels\":\"{JsonEscape(kernels)}\"", $"\"unused_isa\":\"{string.Join(" ", CpuFeatures.Unused())}\"") + "}");
        }
        else
        {
            o.WriteLine($"{m.Metadata.ModelName}: mode {mode}, batch {batch}, {options.Threads} thread(s), {times.Count} runs on {(data is null ? "uniform [-1, 1] inputs" : $"{data.Batch} input rows")}");
            o.WriteLine($"  median {N(median)} us, p90 {N(p90)} us per run; {N(median / batch)} us per sample ({N(batch / median * 1e6)} samples/s)");
            o.WriteLine($"  recomputed in fp32: {(recompute / times.Count).ToString("P2", inv)} of multiply-adds; kernels {kernels}");
            if (CpuFeatures.UnusedAdvice() is { } advice) o.WriteLine($"  note: {advice}");
        }
        return 0;
    }

    /// <summary>Runs runOne(0), runOne(1), ... until tiered JIT has installed its optimised code: at least 30 calls and
    /// 0.3 s, a pause for the background compiler, 10 more. (Under NativeAOT there is no JIT: it warms the caches.)</summary>
    internal static void WarmUp(Action<int> runOne)
    {
        var sw = Stopwatch.StartNew();
        for (int k = 0; k < 30 || sw.Elapsed.TotalSeconds < 0.3; k++) runOne(k);
        Thread.Sleep(200);
        for (int k = 0; k < 10; k++) runOne(k);
    }

    private static double Percentile(List<double> sorted, double q) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];

    private static string JsonEscape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"");
}
