#if EMA_CONVERTER
using System.CommandLine;
using System.Globalization;
using EdgeMixedAccum.Converters;
using EdgeMixedAccum.Converters.Quantization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Runtime.Engine;
using EdgeMixedAccum.Study;
using Spectre.Console;

namespace EdgeMixedAccum.Cli;

/// <summary>
/// `ema study MODEL.onnx|MODEL.ema --input X.npy [--labels Y.npy] --out DIR`: the cost-accuracy tradeoff of
/// Algorithm 1 with emulated low-precision formats against uniform low/high precision and random/oracle
/// selection at the same budget (docs/study.md). Writes results.csv, results.md and plots.
/// </summary>
internal static class StudyCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Argument<FileInfo>("model") { Description = "an ONNX export (studied with its fp32 weights) or an .ema file" };
        var input = new Option<FileInfo>("--input", "-i") { Description = "inputs as .npy", Required = true };
        var labels = new Option<FileInfo?>("--labels") { Description = "integer class labels as .npy" };
        var formats = new Option<string?>("--formats") { Description = "low formats, each with fp32 recompute: fp16,bf16,fp8-e4m3,fp8-e4m3-ieee,fp8-e5m2,i8 (default: fp16,bf16,fp8-e4m3,fp8-e5m2,i8, or none when --ladder is given)" };
        var ladders = new Option<string?>("--ladder") { Description = "precision ladders low:high[:higher], comma-separated, e.g. fp8-e4m3:fp16 (the authors'), i8:fp16:fp32 (three levels)" };
        var criteria = new Option<string>("--criterion") { Description = "flag criteria, comma-separated: full (PAPER.md), full+sign (full plus the first-order sign guard; the runtime's), authors (kappa_phi/|v| <= tau), normwise (absolute error after phi against the layer's rms); random and oracle come with each", DefaultValueFactory = _ => "full+sign" };
        var weightsFormat = new Option<string?>("--weights-format") { Description = "round every Dense/Conv weight and bias to this format first (e.g. fp8-e4m3, as the authors did); applies to every method and the fp64 reference" };
        var inputs = new Option<string>("--inputs") { Description = "round each layer's inputs to the accumulation format (low) or keep them fp32 (fp32, as the authors' code does)", DefaultValueFactory = _ => "low" };
        var block = new Option<int>("--block") { Description = "accumulation block size: 1 is recursive summation; b > 1 sums blocks of b terms, then the block sums", DefaultValueFactory = _ => 1 };
        var tauNeg = new Option<double>("--tau-negative") { Description = "full+sign: the guard flags where bound > this * distance to zero (or a Clip kink); 1 as the runtime. The paper's 'kappa_v u >= 1' is about sqrt(n) + 2 here (the bound carries that constant)", DefaultValueFactory = _ => 1 };
        var head = new Option<string>("--head") { Description = "the output layer under mixed/random/oracle: top (the ladder's highest level, as the converter plans fp32) or mixed (tested like the others)", DefaultValueFactory = _ => "top" };
        var taus = new Option<string>("--taus") { Description = "tolerances: a comma list, or a:b:k for k values log-spaced from a to b", DefaultValueFactory = _ => "1:0.001:7" };
        var estimator = new Option<string>("--estimators") { Description = "fused (exact |W||x| in the pass), rownorm (||w_i||_1 max|x|, free) and/or running (running error estimate from the low pass's partial sums), comma-separated: one series each", DefaultValueFactory = _ => "fused" };
        var normalize = new Option<string?>("--normalize") { Description = "ONNX input: normalisation 'mean,std' as for ema convert" };
        var limit = new Option<int?>("--limit") { Description = "study only the first N samples" };
        var outDir = new Option<DirectoryInfo>("--out", "-o") { Description = "output directory", Required = true };
        var cmd = new Command("study", "Cost-accuracy study of mixed-precision accumulation: mixed vs uniform, random and oracle selection");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { input, labels, formats, ladders, criteria, tauNeg, weightsFormat, inputs, block, head, taus, estimator, normalize, limit, outDir }) cmd.Options.Add(o);
        cmd.SetAction(p =>
        {
            var file = p.GetValue(model)!;
            if (!file.Exists) throw new EmaException($"model file '{file.FullName}' does not exist");
            EmaModel m = file.Extension.Equals(".onnx", StringComparison.OrdinalIgnoreCase)
                ? Converter.Convert(file.FullName, new ConvertOptions
                {
                    Weights = WeightFormat.Fp32,
                    Normalize = ConvertCommand.ParseNormalize(p.GetValue(normalize)),
                }).Model
                : CliApp.LoadModel(file);
            var data = Dataset.Load(m, p.GetValue(input)!, p.GetValue(labels), p.GetValue(limit));
            var options = new StudyOptions
            {
                Formats = List(p.GetValue(formats) ?? (p.GetValue(ladders) is null ? "fp16,bf16,fp8-e4m3,fp8-e5m2,i8" : ""))
                    .Select(f => StudyOptions.Resolve(f).Name).ToArray(),
                Ladders = List(p.GetValue(ladders)).Select(l => StudyLadder.Parse(l).Name).ToArray(),
                Criteria = List(p.GetValue(criteria)).Select(StudyCriterion.Parse).Distinct().ToArray(),
                WeightsFormat = p.GetValue(weightsFormat) is { } wf ? StudyOptions.Resolve(wf).Name : null,
                RoundInputs = p.GetValue(inputs) switch { "low" => true, "fp32" => false, var v => throw new EmaException($"--inputs '{v}': expected low or fp32") },
                BlockSize = p.GetValue(block) is >= 1 and var b ? b : throw new EmaException($"--block {p.GetValue(block)}: must be >= 1"),
                TauNegative = p.GetValue(tauNeg) is >= 0 and var tn ? tn : throw new EmaException($"--tau-negative {p.GetValue(tauNeg)}: must be >= 0"),
                HeadHigh = p.GetValue(head) switch { "top" => true, "mixed" => false, var v => throw new EmaException($"--head '{v}': expected top or mixed") },
                Taus = ParseTaus(p.GetValue(taus)!),
                Estimators = p.GetValue(estimator)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Select(e => e is "fused" or "rownorm" or "running" ? e : throw new EmaException($"--estimators: unknown estimator '{e}' (fused, rownorm, running)")).Distinct().ToArray(),
            };
            return Execute(m, data, options, p.GetValue(outDir)!, string.Join(' ', ["ema", .. p.Tokens.Select(t => t.Value)]), stdout);
        });
        return cmd;
    }

    public static int Execute(EmaModel m, Dataset data, StudyOptions options, DirectoryInfo outDir, string command, TextWriter o)
    {
        var engine = new StudyEngine(m, data.X, data.Batch, data.Labels, options);
        List<StudyRow> rows = [];
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(o), Interactive = InteractionSupport.Detect });
        console.Progress().AutoClear(true).Start(ctx =>
        {
            var task = ctx.AddTask("study", maxValue: 1);
            rows = engine.Run(new Progress<(int Done, int Total, string What)>(r =>
            {
                task.MaxValue = r.Total;
                task.Value = r.Done;
                task.Description = r.What;
            }));
        });
        outDir.Create();
        var names = engine.LayerNames;
        StudyReport.WriteCsv(rows, names, Path.Combine(outDir.FullName, "results.csv"));
        var plots = StudyPlots.Write(rows, outDir.FullName);
        var ratios = options.AllLadders().SelectMany(l => l.Levels).Distinct().ToDictionary(f => f, f => StudyOptions.Resolve(f).CostRatio);
        var measured = MeasureWallClock(m, data);
        StudyReport.WriteMarkdown(rows, new StudyHeader(m.Metadata.ModelName, data.Source, data.Batch, command, ratios, names) { Measured = measured },
            Path.Combine(outDir.FullName, "results.md"));
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine($"{"series",-16} {"criterion",-10} {"method",-12} {"tau",8} {"up MACs",8} {"cost",6} {"top-1",7} {"agree",7} {"mean err",10}");
        foreach (var r in rows)
            o.WriteLine($"{r.Series,-16} {r.Criterion,-10} {StudyRow.MethodName(r.Method),-12} {(double.IsNaN(r.Tau) ? "" : r.Tau.ToString("G3", inv)),8} {r.RecomputeFraction.ToString("P1", inv),8} {r.Cost.ToString("F3", inv),6} {(double.IsNaN(r.Top1) ? "" : r.Top1.ToString("P1", inv)),7} {r.Agreement.ToString("P1", inv),7} {r.MeanRelError.ToString("E2", inv),10}");
        foreach (var (label, value) in measured) o.WriteLine($"{label}: {value}");
        o.WriteLine($"wrote {Path.Combine(outDir.FullName, "results.csv")}, results.md and {plots.Count} plots");
        return 0;
    }

    /// <summary>
    /// The runtime's uniform modes timed on this machine, one sample per run (median of three passes over up to
    /// 200 samples, after a warm-up pass): the measured counterpart of the cost ratios for the formats the CPU runs natively. fp16
    /// accumulation is native only with FEAT_FP16 (ARM64); elsewhere it is the exact emulation, marked so.
    /// </summary>
    private static List<(string, string)> MeasureWallClock(EmaModel m, Dataset data)
    {
        var inv = CultureInfo.InvariantCulture;
        int n = Math.Min(200, data.Batch);
        var result = new List<(string, string)>();
        if (n == 0) return result;
        double Median(RunMode mode, out string kernel)
        {
            using var s = new Session(m, new SessionOptions { Mode = mode });
            kernel = mode switch
            {
                RunMode.I8 => s.Kernels.Chosen["i8-gemv"],
                RunMode.F16Acc => s.Kernels.Chosen["f16acc-gemv"],
                _ => s.Kernels.Chosen["f32-gemv-rows"],
            };
            var y = new float[s.OutputLength];
            var times = new List<double>();
            var sw = new System.Diagnostics.Stopwatch();
            // One unmeasured pass, then a pause so tiered compilation installs its optimised code (JIT builds).
            for (int i = 0; i < n; i++) s.Run(data.X.AsSpan(i * s.InputLength, s.InputLength), y);
            Thread.Sleep(300);
            for (int pass = 0; pass < 3; pass++)
            {
                sw.Restart();
                for (int i = 0; i < n; i++) s.Run(data.X.AsSpan(i * s.InputLength, s.InputLength), y);
                times.Add(sw.Elapsed.TotalMicroseconds / n);
            }
            times.Sort();
            return times[1];
        }
        double f32 = Median(RunMode.F32, out var k32);
        double i8 = Median(RunMode.I8, out var k8);
        double f16 = Median(RunMode.F16Acc, out var k16);
        result.Add(("f32 per sample", $"{f32.ToString("F1", inv)} us ({k32})"));
        result.Add(("i8 per sample", $"{i8.ToString("F1", inv)} us ({k8}): f32 / i8 = {(f32 / i8).ToString("F2", inv)}"));
        result.Add(("f16acc per sample", $"{f16.ToString("F1", inv)} us ({k16}{(k16.Contains("emulated", StringComparison.Ordinal) ? ", emulated: not a cost figure" : "")}): f32 / f16acc = {(f32 / f16).ToString("F2", inv)}"));
        return result;
    }

    static string[] List(string? text) => (text ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    internal static double[] ParseTaus(string text)
    {
        var inv = CultureInfo.InvariantCulture;
        var parts = text.Split(':');
        if (parts.Length == 3)
        {
            if (!double.TryParse(parts[0], NumberStyles.Float, inv, out double a) || !double.TryParse(parts[1], NumberStyles.Float, inv, out double b)
                || !int.TryParse(parts[2], out int k) || a <= 0 || b <= 0 || k < 1 || k > 1000)
                throw new EmaException($"--taus '{text}': expected a:b:k with a, b > 0 and 1 <= k <= 1000");
            return Enumerable.Range(0, k).Select(i => k == 1 ? a : Math.Exp(Math.Log(a) + (Math.Log(b) - Math.Log(a)) * i / (k - 1))).ToArray();
        }
        return text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(t =>
            double.TryParse(t, NumberStyles.Float, inv, out double v) && v >= 0 ? v : throw new EmaException($"--taus: '{t}' is not a tolerance >= 0")).ToArray();
    }
}
#endif
