using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using EdgeMixedAccum.Converters;
using EdgeMixedAccum.Converters.Quantization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Runtime.Engine;
using Microsoft.ML.OnnxRuntime;
using EmaSession = EdgeMixedAccum.Runtime.Engine.Session;
using EmaSessionOptions = EdgeMixedAccum.Runtime.Engine.SessionOptions;
using OrtSessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace EdgeMixedAccum.Benchmarks;

/// <summary>
/// `ema-bench compare`: every fixture run by ONNX Runtime (fp32) and by our runtime (f32, i8, adaptive at the
/// calibrated tau) in one process, one thread each, on the same real inputs, at batch 1 and batch 64.
/// Rounds interleave the engines (the order rotates per round) so that the noise of a shared machine hits
/// all of them alike; each engine's figure is the median over rounds of the mean time per call in a round.
/// The ratio ORT/ours is taken from those medians. Timings are reported, never asserted.
/// </summary>
internal static class ModelCompare
{
    private sealed record Fixture(string Model, string Input, float[]? Normalize);

    /// <summary>One engine on one model and batch: a call runs one batch of the k-th distinct input set.</summary>
    private sealed class Engine(string name, Action<int> call)
    {
        public string Name { get; } = name;
        public Action<int> Call { get; } = call;
        public List<double> RoundMeans { get; } = [];
        public double Median => Percentile(RoundMeans, 0.5);
        public double P90 => Percentile(RoundMeans, 0.9);
    }

    public static int Run(string[] args)
    {
        string root = FindRoot();
        string fixturesDir = Path.Combine(root, "tests", "fixtures");
        var models = new List<string>();
        var batches = new List<int> { 1, 64 };
        int rounds = 15, calibRows = 300;
        double roundMs = 40, target = 0.999;
        string? outMd = null, outJson = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--models": models.AddRange(Next().Split(',', StringSplitOptions.RemoveEmptyEntries)); break;
                case "--batches": batches = Next().Split(',').Select(int.Parse).ToList(); break;
                case "--rounds": rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--round-ms": roundMs = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--calib-rows": calibRows = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--target-agreement": target = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--fixtures": fixturesDir = Next(); break;
                case "--out": outMd = Next(); break;
                case "--json": outJson = Next(); break;
                default: throw new ArgumentException($"unknown option {args[i]} (see docs/performance.md)");
            }
        }
        var fixtures = LoadFixtures(fixturesDir).Where(f => models.Count == 0 || models.Contains(Path.GetFileNameWithoutExtension(f.Model))).ToList();
        if (fixtures.Count == 0) throw new ArgumentException("no fixture matches --models");

        var md = new StringBuilder();
        var rows = new List<Dictionary<string, object>>();
        var (i8Probe, f32Probe) = PeakProbe.KernelPaths();
        md.AppendLine($"Machine: {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}, " +
                      $"{CpuModel()}; .NET {Environment.Version}; ONNX Runtime {OrtVersion()}; one thread each; {rounds} rounds of ~{roundMs} ms per engine.");
        md.AppendLine($"\"ceiling\": ORT's time over the least time adaptive int8 could take here if only its multiply-adds cost anything: " +
                      $"every MAC at the int8 kernels' peak ({i8Probe?.Path ?? "not measured"}), the recomputed share again at the fp32 peak " +
                      $"({f32Probe?.Path ?? "not measured"}), both register-only loops timed in the same rounds as the engines; no runtime gets a " +
                      "better ratio on this machine. It reads high when other tenants contend for memory (ORT slows, register-only loops hardly do).");
        md.AppendLine();
        md.AppendLine("| model | MACs/sample | batch | ORT fp32 us/sample | ours f32 | ours i8 | ours adaptive | recomputed | ORT/ours f32 | ORT/ours i8 | ORT/ours adaptive | ceiling | adaptive over i8 | top-1 = ORT |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var f in fixtures)
        {
            var x = NpyFile.Read(Path.Combine(fixturesDir, f.Input));
            var raw = x.ToFloat32();
            int total = x.Shape[0], per = raw.Length / Math.Max(1, total);
            int nCal = Math.Min(calibRows, total / 2);
            var calib = raw.AsSpan(0, nCal * per).ToArray();
            var eval = raw.AsSpan(nCal * per).ToArray();
            int nEval = total - nCal;
            var shape = x.Shape.ToArray();

            Console.Error.WriteLine($"{f.Model}: converting with calibration on {nCal} rows (target agreement {target}), evaluating on {nEval} others");
            var options = new ConvertOptions
            {
                Weights = WeightFormat.Int8,
                Normalize = f.Normalize is { } n ? new InputNormalization([n[0]], [n[1]]) : null,
                Calibration = (calib, [nCal, .. shape[1..]]),
                CalibrationSource = f.Input + " (first rows)",
                TargetAgreement = target,
            };
            var (model, report) = Converter.Convert(Path.Combine(fixturesDir, f.Model), options);
            model = EmaReader.Read(EmaWriter.ToBytes(model));
            var fed = f.Normalize is { } nn ? eval.Select(v => (v - nn[0]) / nn[1]).ToArray() : eval;

            foreach (int batch in batches)
            {
                var result = CompareOne(f.Model, model, Path.Combine(fixturesDir, f.Model), eval, fed, nEval, per, shape, batch, rounds, roundMs, i8Probe, f32Probe);
                if (result is null) continue;
                rows.Add(result);
                string R(string k) => ((double)result[k]).ToString("0.00", CultureInfo.InvariantCulture) + "x";
                string U(string k) => ((double)result[k]).ToString("0.0", CultureInfo.InvariantCulture);
                md.AppendLine($"| {Path.GetFileNameWithoutExtension(f.Model)} | {(long)result["macs_per_sample"]:N0} | {batch} | {U("ort_us")} | {U("f32_us")} | {U("i8_us")} | {U("adaptive_us")} | " +
                              $"{(double)result["recompute_fraction"]:P1} | {R("ratio_f32")} | {R("ratio_i8")} | {R("ratio_adaptive")} | " +
                              $"{(double.IsFinite((double)result["ceiling_adaptive"]) ? R("ceiling_adaptive") : "-")} | " +
                              $"{(double)result["adaptive_overhead"]:+0%;-0%} | {(double)result["top1_agreement"]:P1} |");
            }
        }
        string Range(string key) => rows.Select(r => (double)r[key]).Where(double.IsFinite).ToList() is { Count: > 0 } v
            ? $"{v.Min():0.0}-{v.Max():0.0}" : "not measured";
        md.AppendLine();
        md.AppendLine($"Peaks timed in the rounds (medians, lowest-highest over the rows): int8 {Range("i8_peak_gops")} GOP/s, fp32 {Range("f32_peak_gflops")} GFLOP/s.");
        Console.WriteLine(md.ToString());
        if (outMd is not null) File.WriteAllText(outMd, md.ToString());
        if (outJson is not null) File.WriteAllText(outJson, JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    private static Dictionary<string, object>? CompareOne(string name, EmaModel model, string onnxPath, float[] raw, float[] fed, int nEval, int per,
        int[] shape, int batch, int rounds, double roundMs, PeakProbe.Probe? i8Probe, PeakProbe.Probe? f32Probe)
    {
        // Distinct input batches, cycled: real rows, so adaptive mode recomputes what it would on real data.
        int distinct = Math.Max(1, Math.Min(16, nEval / batch));
        if (nEval < batch) { Console.Error.WriteLine($"{name}: {nEval} rows < batch {batch}, skipped"); return null; }
        long[] ortShape = [batch, .. shape[1..].Select(d => (long)d)];

        using var ortOptions = new OrtSessionOptions
        {
            IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        using var ort = new InferenceSession(onnxPath, ortOptions);
        string inName = ort.InputMetadata.Keys.First(), outName = ort.OutputMetadata.Keys.First();
        var ortIn = new OrtValue[distinct];
        var ortInData = new float[distinct][];
        for (int d = 0; d < distinct; d++)
        {
            ortInData[d] = fed.AsSpan(d * batch * per, batch * per).ToArray();
            ortIn[d] = OrtValue.CreateTensorValueFromMemory(ortInData[d], ortShape);
        }
        using var f32 = new EmaSession(model, new EmaSessionOptions { Mode = RunMode.F32, MaxBatch = batch });
        using var i8 = new EmaSession(model, new EmaSessionOptions { Mode = RunMode.I8, MaxBatch = batch });
        using var ad = new EmaSession(model, new EmaSessionOptions { Mode = RunMode.Adaptive, MaxBatch = batch });
        if (batch > 1 && !f32.AnyBatch) { Console.Error.WriteLine($"{name}: fixed batch 1, batch {batch} skipped"); return null; }
        int outPer = f32.OutputLength;
        var ortOutData = new float[batch * outPer];
        using var ortOut = OrtValue.CreateTensorValueFromMemory(ortOutData, [batch, .. ort.OutputMetadata[outName].Dimensions.Skip(1).Select(d => (long)d)]);
        using var runOptions = new RunOptions();
        string[] inNames = [inName], outNames = [outName];
        var ortInArg = new OrtValue[1];
        OrtValue[] ortOutArg = [ortOut];
        var y = new float[batch * outPer];
        var inputs = new float[distinct][];
        for (int d = 0; d < distinct; d++) inputs[d] = raw.AsSpan(d * batch * per, batch * per).ToArray();

        double recomputed = 0; long recomputeRuns = 0;
        var engines = new List<Engine>
        {
            new("ort", k => { ortInArg[0] = ortIn[k % distinct]; ort.Run(runOptions, inNames, ortInArg, outNames, ortOutArg); }),
            new("f32", k => f32.Run(inputs[k % distinct], y, batch)),
            new("i8", k => i8.Run(inputs[k % distinct], y, batch)),
            new("adaptive", k => { ad.Run(inputs[k % distinct], y, batch); recomputed += ad.LastReport.RecomputeFraction; recomputeRuns++; }),
        };
        // The peaks as two more engines, so they are timed in the same rounds, under the same load, as ORT.
        const int PeakIters = 50_000;
        int i8PeakAt = -1, f32PeakAt = -1;
        if (i8Probe is not null) { i8PeakAt = engines.Count; engines.Add(new("peak-i8", _ => i8Probe.Seconds(PeakIters))); }
        if (f32Probe is not null) { f32PeakAt = engines.Count; engines.Add(new("peak-f32", _ => f32Probe.Seconds(PeakIters))); }

        // Warm-up: tiered JIT and ORT's first-run allocations; then size each engine's round to ~roundMs.
        var reps = new int[engines.Count];
        for (int e = 0; e < engines.Count; e++)
        {
            var sw = Stopwatch.StartNew();
            int calls = 0;
            for (; calls < 50 || sw.Elapsed.TotalMilliseconds < 300; calls++) engines[e].Call(calls);
            Thread.Sleep(100);
            sw.Restart();
            for (calls = 0; calls < 10; calls++) engines[e].Call(calls);
            reps[e] = Math.Max(1, (int)(roundMs / Math.Max(1e-3, sw.Elapsed.TotalMilliseconds / 10)));
        }
        recomputed = 0; recomputeRuns = 0;
        for (int r = 0; r < rounds; r++)
            for (int t = 0; t < engines.Count; t++)
            {
                int e = (t + r) % engines.Count;
                long t0 = Stopwatch.GetTimestamp();
                for (int c = 0; c < reps[e]; c++) engines[e].Call(c);
                engines[e].RoundMeans.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds / reps[e]);
            }
        foreach (var e in engines) e.RoundMeans.Sort();

        // Same answers: adaptive's top-1 against ORT's over every evaluated batch.
        int agree = 0, count = 0;
        double maxDiff = 0, maxRef = 0;
        for (int d = 0; d < distinct; d++)
        {
            ortInArg[0] = ortIn[d];
            ort.Run(runOptions, inNames, ortInArg, outNames, ortOutArg);
            ad.Run(inputs[d], y, batch);
            for (int s = 0; s < batch; s++)
            {
                var a = y.AsSpan(s * outPer, outPer);
                var b = ortOutData.AsSpan(s * outPer, outPer);
                count++;
                if (ArgMax(a) == ArgMax(b)) agree++;
                for (int j = 0; j < outPer; j++) { maxDiff = Math.Max(maxDiff, Math.Abs(a[j] - b[j])); maxRef = Math.Max(maxRef, Math.Abs(b[j])); }
            }
        }
        f32.Run(inputs[0], y, batch);
        long macs = f32.LastReport.Macs / batch;
        foreach (var v in ortIn) v.Dispose();

        double ortUs = engines[0].Median / batch;
        double Us(int e) => engines[e].Median / batch;
        double PeakOf(int at, PeakProbe.Probe? p) => at < 0 ? double.NaN : p!.OpsPerIteration * PeakIters / (engines[at].Median * 1e-6);
        double i8Peak = PeakOf(i8PeakAt, i8Probe), f32Peak = PeakOf(f32PeakAt, f32Probe);
        double rf = recomputed / Math.Max(1, recomputeRuns);
        Console.Error.WriteLine($"{name} batch {batch}: ORT {ortUs:0.0} us/sample, f32 {Us(1):0.0}, i8 {Us(2):0.0}, adaptive {Us(3):0.0} " +
                                $"({recomputed / Math.Max(1, recomputeRuns):P1} recomputed); top-1 = ORT on {agree}/{count}");
        return new Dictionary<string, object>
        {
            ["model"] = Path.GetFileNameWithoutExtension(name), ["batch"] = batch, ["macs_per_sample"] = macs,
            ["ort_us"] = ortUs, ["f32_us"] = Us(1), ["i8_us"] = Us(2), ["adaptive_us"] = Us(3),
            ["ort_p90_us"] = engines[0].P90 / batch, ["adaptive_p90_us"] = engines[3].P90 / batch,
            ["recompute_fraction"] = rf,
            ["ratio_f32"] = ortUs / Us(1), ["ratio_i8"] = ortUs / Us(2), ["ratio_adaptive"] = ortUs / Us(3),
            ["adaptive_overhead"] = Us(3) / Us(2) - 1,
            ["i8_peak_gops"] = i8Peak / 1e9, ["f32_peak_gflops"] = f32Peak / 1e9,
            ["ceiling_adaptive"] = Ceiling(ortUs, macs, rf, i8Peak, f32Peak),
            ["top1_agreement"] = (double)agree / Math.Max(1, count), ["max_abs_diff_rel"] = maxRef == 0 ? 0 : maxDiff / maxRef,
            ["kernels"] = string.Join(",", ad.Kernels.Chosen.Values),
        };
    }

    /// <summary>ORT's time over adaptive int8's least possible time at the measured peaks (2 ops per multiply-add):
    /// every MAC once at the int8 peak, the recomputed share once more at the fp32 peak, nothing else.</summary>
    internal static double Ceiling(double ortUs, long macs, double recomputeFraction, double i8Peak, double f32Peak) =>
        ortUs / (2.0 * macs * (1 / i8Peak + recomputeFraction / f32Peak) * 1e6);

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private static double Percentile(List<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, Math.Max(0, (int)Math.Ceiling(q * sorted.Count) - 1))];

    private static List<Fixture> LoadFixtures(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "fixtures.json")));
        var list = new List<Fixture>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            float[]? norm = e.TryGetProperty("normalize", out var n) && n.ValueKind == JsonValueKind.Array
                ? n.EnumerateArray().Select(v => v.GetSingle()).ToArray() : null;
            list.Add(new Fixture(e.GetProperty("model").GetString()!, e.GetProperty("input").GetString()!, norm));
        }
        return list;
    }

    internal static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "EdgeMixedAccum.sln"))) return d.FullName;
        for (var d = new DirectoryInfo(Environment.CurrentDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "EdgeMixedAccum.sln"))) return d.FullName;
        throw new ArgumentException("run from inside the repository (cannot find EdgeMixedAccum.sln)");
    }

    internal static string CpuModel()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        return "unknown CPU";
    }

    private static string OrtVersion() => typeof(InferenceSession).Assembly.GetName().Version?.ToString(3) ?? "?";
}
