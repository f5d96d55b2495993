using System.CommandLine;
using System.Globalization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Cli;

/// <summary>
/// `ema demo [--model M.ema] [--input X.npy] [--labels Y.npy] [--limit N]`: evaluates the bundled Fashion-MNIST
/// model in five engine modes (f32, i8, adaptive, f16acc, adaptive with an f16acc low pass) and prints one
/// table: accuracy, agreement with fp32, recomputed multiply-adds, error against the fp64 reference, bound
/// violations and latency, then what it shows. Plain text (board builds have no Spectre.Console).
/// </summary>
internal static class DemoCommand
{
    public const string BundledModel = "fmnist-mlp-tanh.ema";
    public const string BundledInput = "fmnist-x.npy";
    public const string BundledLabels = "fmnist-y.npy";

    public static Command Create(TextWriter stdout)
    {
        var model = new Option<FileInfo?>("--model", "-m") { Description = $"the .ema model (default: tests/fixtures/{BundledModel}, found above the current directory or the ema binary)" };
        var input = new Option<FileInfo?>("--input", "-i") { Description = $"inputs as .npy (default: tests/fixtures/{BundledInput})" };
        var labels = new Option<FileInfo?>("--labels") { Description = $"integer labels as .npy (default: tests/fixtures/{BundledLabels} when --input is not given)" };
        var limit = new Option<int?>("--limit") { Description = "evaluate only the first N samples" };
        var cmd = new Command("demo", "Compare f32, i8, f16acc and adaptive (Algorithm 1) on the bundled model: accuracy, recompute share, error vs fp64, bound violations, latency");
        foreach (var o in new Option[] { model, input, labels, limit }) cmd.Options.Add(o);
        cmd.SetAction(p =>
        {
            var modelFile = p.GetValue(model) ?? Find(BundledModel);
            FileInfo inputFile;
            FileInfo? labelFile;
            if (p.GetValue(input) is { } given) { inputFile = given; labelFile = p.GetValue(labels); }
            else { inputFile = Find(BundledInput); labelFile = p.GetValue(labels) ?? Find(BundledLabels); }
            if (p.GetValue(limit) is < 0) throw new EmaException($"--limit must be >= 0, got {p.GetValue(limit)}");
            return Execute(modelFile, inputFile, labelFile, p.GetValue(limit), stdout);
        });
        return cmd;
    }

    /// <summary>The five modes of the demo: display name, options.</summary>
    private static readonly (string Name, SessionOptions Options)[] Modes =
    [
        ("f32", new() { Mode = RunMode.F32 }),
        ("i8", new() { Mode = RunMode.I8 }),
        ("adaptive", new() { Mode = RunMode.Adaptive }),
        ("f16acc", new() { Mode = RunMode.F16Acc }),
        ("adaptive-f16acc", new() { Mode = RunMode.Adaptive, Low = Precision.F16Acc }),
    ];

    public static int Execute(FileInfo modelFile, FileInfo inputFile, FileInfo? labelFile, int? limit, TextWriter o)
    {
        var m = CliApp.LoadModel(modelFile);
        var data = Dataset.Load(m, inputFile, labelFile, limit);
        if (data.Batch == 0) throw new EmaException($"{inputFile.Name}: no samples to evaluate");
        o.WriteLine($"model {m.Metadata.ModelName} ({modelFile.FullName}), {data.Batch} samples of {inputFile.Name}{(data.Labels is null ? " (no labels)" : "")}");
        var f64 = Evaluator.Reference(m, data.X, data.Batch);
        var f32 = EvalCommand.F32Outputs(m, SessionOptions.Default, data);
        var results = new List<(EvaluationResult R, string Kernel)>();
        foreach (var (name, options) in Modes)
        {
            // Figures and the bound audit from a traced session; latency from an untraced one (the trace's copies
            // of every low-pass result and bound are not part of inference).
            var r = EvalCommand.Run(m, options with { Trace = true }, name, data, f32, f64, warmUp: false);
            var timed = EvalCommand.Run(m, options with { Trace = false }, name, data, f32, f64);
            r = r with { MedianLatencyUs = timed.MedianLatencyUs };
            results.Add((r, LowKernel(r)));
        }
        Print(results, o);
        Explain(results, o);
        return 0;
    }

    /// <summary>The kernel of the low pass (the fp32 kernel for an all-fp32 run), marked when emulated.</summary>
    private static string LowKernel(EvaluationResult r)
    {
        var lows = r.Layers.Select(l => l.Precision).Where(p => p != "f32").Distinct().ToList();
        if (lows.Count == 0) return r.Kernels.TryGetValue("f32-gemv-rows", out var f) ? f : "fp32";
        return string.Join(" + ", lows.Select(p =>
        {
            string k = r.Kernels.TryGetValue(p == "i8" ? "i8-gemv" : "f16acc-gemv", out var v) ? v : p;
            return k.Contains("emulated", StringComparison.Ordinal) ? k + " (emulated)" : k;
        }));
    }

    private static void Print(List<(EvaluationResult R, string Kernel)> rows, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        string[] head = ["mode", "top-1", "agree f32", "fp32 MACs", "mean rel.err", "max rel.err", "bound viol.", "us/sample", "low-pass kernel"];
        var cells = rows.Select(x => new[]
        {
            x.R.Mode,
            x.R.Top1 is { } t ? t.ToString("P2", inv) : "-",
            x.R.Agreement.ToString("P2", inv),
            x.R.RecomputeFraction.ToString("P2", inv),
            x.R.MeanRelError.ToString("0.00E+00", inv),
            x.R.MaxRelError.ToString("0.00E+00", inv),
            x.R.BoundViolations.ToString(inv),
            x.R.MedianLatencyUs.ToString("F1", inv),
            x.Kernel,
        }).ToList();
        var width = new int[head.Length];
        for (int c = 0; c < head.Length; c++) width[c] = Math.Max(head[c].Length, cells.Max(r => r[c].Length));
        string Line(string[] r) => string.Join("  ", r.Select((v, c) => c == 0 || c == r.Length - 1 ? v.PadRight(width[c]) : v.PadLeft(width[c]))).TrimEnd();
        o.WriteLine();
        o.WriteLine(Line(head));
        o.WriteLine(new string('-', width.Sum() + 2 * (width.Length - 1)));
        foreach (var r in cells) o.WriteLine(Line(r));
        o.WriteLine();
    }

    private static void Explain(List<(EvaluationResult R, string Kernel)> rows, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        EvaluationResult Get(string mode) => rows.First(x => x.R.Mode == mode).R;
        var (i8, ad, f16, adf16) = (Get("i8"), Get("adaptive"), Get("f16acc"), Get("adaptive-f16acc"));
        long violations = rows.Sum(x => x.R.BoundViolations);
        o.WriteLine($"i8 and f16acc do every multiply-add of the low layers in low precision; adaptive (Algorithm 1) runs the same low pass, " +
                    $"recomputes in fp32 only the components whose predicted error exceeds tau (and the layers planned fp32), and so keeps " +
                    $"int8 cost for {(1 - ad.RecomputeFraction).ToString("P0", inv)} and fp16 cost for {(1 - adf16.RecomputeFraction).ToString("P0", inv)} of the multiply-adds.");
        o.WriteLine($"In exchange the mean error against the fp64 reference falls from {i8.MeanRelError.ToString("0.0E+0", inv)} to {ad.MeanRelError.ToString("0.0E+0", inv)} (int8 low pass) " +
                    $"and from {f16.MeanRelError.ToString("0.0E+0", inv)} to {adf16.MeanRelError.ToString("0.0E+0", inv)} (fp16 low pass), " +
                    $"and top-1 agreement with fp32 is {ad.Agreement.ToString("P1", inv)} for adaptive against {i8.Agreement.ToString("P1", inv)} for i8.");
        o.WriteLine(violations == 0
            ? "Bound violations count low-pass results whose actual error (checked in fp64) exceeds the rigorous error bound; they must be 0, and they are (latency: one sample per run; \"emulated\" marks an fp16 kernel emulated in software, slow on CPUs without FEAT_FP16)."
            : $"Bound violations count low-pass results whose actual error (checked in fp64) exceeds the rigorous error bound: they must be 0, but {violations} were found: a bug in the error model or a kernel, please report it.");
    }

    /// <summary>Finds tests/fixtures/<paramref name="file"/> above the current directory or the ema binary.</summary>
    internal static FileInfo Find(string file)
    {
        var tried = new List<string>();
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory }.Distinct())
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                string p = Path.Combine(d.FullName, "tests", "fixtures", file);
                if (tried.Contains(p)) continue;
                if (File.Exists(p)) return new FileInfo(p);
                tried.Add(p);
            }
        throw new EmaException($"cannot find the bundled {file}; pass it explicitly. Tried: {string.Join(", ", tried)}");
    }
}
