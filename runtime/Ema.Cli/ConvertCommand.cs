#if EMA_CONVERTER
using System.CommandLine;
using System.Globalization;
using EdgeMixedAccum.Converters;
using EdgeMixedAccum.Converters.Quantization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Npy;
using Spectre.Console;

namespace EdgeMixedAccum.Cli;

/// <summary>`ema convert MODEL.onnx -o MODEL.ema`: import, fold, calibrate, quantise, write atomically.</summary>
internal static class ConvertCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Argument<FileInfo>("model") { Description = "the ONNX file" };
        var output = new Option<FileInfo>("--output", "-o") { Description = "the .ema file to write", Required = true };
        var weights = new Option<string>("--weights") { Description = "weight storage: int8 (per-channel), fp16 or fp32", DefaultValueFactory = _ => "int8" };
        weights.AcceptOnlyFromAmong("int8", "fp16", "fp32");
        var calib = new Option<FileInfo?>("--calib") { Description = "calibration inputs (.npy, raw as the model's users feed them) for static int8 activation ranges" };
        var method = new Option<string>("--calib-method") { Description = "activation range: max or percentile", DefaultValueFactory = _ => "max" };
        method.AcceptOnlyFromAmong("max", "percentile");
        var percentile = new Option<double>("--percentile") { Description = "percentile of |x| for --calib-method percentile", DefaultValueFactory = _ => 99.99 };
        var normalize = new Option<string?>("--normalize") { Description = "input normalisation (x - mean) / std: 'mean,std' or 'm1,..,mk,s1,..,sk' per channel" };
        var names = new Option<string?>("--class-names") { Description = "comma-separated class labels of the output" };
        var name = new Option<string?>("--name") { Description = "model name stored in the file (default: the ONNX file name)" };
        var agreement = new Option<double?>("--target-agreement") { Description = "calibrate tau per layer so adaptive mode's top-1 agrees with fp32 on at least this share of the --calib inputs (e.g. 0.999)" };
        var error = new Option<double?>("--target-error") { Description = "calibrate tau per layer so adaptive mode's mean relative output error vs fp32 on the --calib inputs is at most this (e.g. 1e-3)" };
        var chooseLow = new Option<bool>("--choose-low") { Description = "with a target: also choose the low mode (int8 weights + i8, or fp16 weights + f16acc with the fused or row-norm estimator) with the lowest modelled cost" };
        var board = new Option<string?>("--board") { Description = "the board the model is for (boards/NAME/board.json: rpi4, rpi5, jetson-nano, jetson-orin, linux-x64): its plan, unless --weights says otherwise, and the CPU features the runtime checks at load" };
        var boardsDir = new Option<DirectoryInfo?>("--boards-dir") { Description = "where the board profiles are (default: the nearest boards/ from here or from the ema binary)" };
        var cmd = new Command("convert", "Convert an ONNX model into a quantised .ema file");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { output, weights, calib, method, percentile, normalize, names, name, agreement, error, chooseLow, board, boardsDir }) cmd.Options.Add(o);
        cmd.SetAction(p =>
        {
            var options = new ConvertOptions
            {
                Weights = p.GetValue(weights) switch { "fp32" => WeightFormat.Fp32, "fp16" => WeightFormat.Fp16, _ => WeightFormat.Int8 },
                Normalize = ParseNormalize(p.GetValue(normalize)),
                Labels = p.GetValue(names)?.Split(',', StringSplitOptions.TrimEntries) ?? [],
                ModelName = p.GetValue(name),
                CalibrationOptions = new CalibrationOptions
                {
                    Method = p.GetValue(method) == "percentile" ? RangeMethod.Percentile : RangeMethod.Max,
                    Percentile = p.GetValue(percentile),
                },
            };
            double? targetAgreement = p.GetValue(agreement), targetError = p.GetValue(error);
            if (targetAgreement is not null && targetError is not null)
                throw new EmaException("--target-agreement and --target-error exclude each other: give one");
            if ((targetAgreement is not null || targetError is not null) && p.GetValue(calib) is null)
                throw new EmaException($"{(targetAgreement is not null ? "--target-agreement" : "--target-error")} needs calibration inputs: add --calib X.npy");
            if (p.GetValue(chooseLow) && targetAgreement is null && targetError is null)
                throw new EmaException("--choose-low needs a target: add --target-agreement A or --target-error E (and --calib X.npy)");
            options = options with { TargetAgreement = targetAgreement, TargetError = targetError, ChooseLow = p.GetValue(chooseLow) };
            if (p.GetValue(board) is { } boardName)
            {
                var profile = Runtime.Boards.BoardProfile.Find(boardName, Runtime.Boards.BoardProfile.FindDirectory(p.GetValue(boardsDir)?.FullName));
                bool weightsGiven = p.GetResult(weights) is { Implicit: false };
                options = options with
                {
                    Board = profile,
                    Weights = weightsGiven ? options.Weights : profile.Low == Precision.F16Acc ? WeightFormat.Fp16 : WeightFormat.Int8,
                };
            }
            var source = p.GetValue(model)!;
            var target = p.GetValue(output)!;
            if (p.GetValue(calib) is { } c)
            {
                var x = NpyFile.Read(c.FullName);
                options = options with { Calibration = (x.ToFloat32(), x.Shape), CalibrationSource = c.Name };
            }
            return Execute(source, target, options, stdout);
        });
        return cmd;
    }

    internal static InputNormalization? ParseNormalize(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var v = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out v[i]) || !float.IsFinite(v[i]))
                throw new EmaException($"--normalize: '{parts[i]}' is not a number");
        if (v.Length % 2 != 0) throw new EmaException($"--normalize needs as many means as stds, got {v.Length} numbers");
        int k = v.Length / 2;
        var std = v[k..];
        if (std.Any(s => s <= 0)) throw new EmaException("--normalize: every std must be > 0");
        return new InputNormalization(v[..k], std);
    }

    private static int Execute(FileInfo source, FileInfo target, ConvertOptions options, TextWriter stdout)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(stdout) });
        if (!console.Profile.Capabilities.Interactive) console.Profile.Width = 160; // logs and pipes: do not wrap the table
        ConversionReport report = null!;
        console.Progress().AutoClear(true).Start(ctx =>
        {
            var tasks = new Dictionary<string, ProgressTask>();
            var progress = new SyncProgress(step =>
            {
                if (!tasks.TryGetValue(step.Step, out var t)) tasks[step.Step] = t = ctx.AddTask(step.Step, maxValue: 1);
                t.Value = step.Fraction;
            });
            report = Converter.ConvertFile(source.FullName, target.FullName, options, progress);
        });
        Summarise(console, report, source, target);
        if (options.Board is { } b && EmaReader.Read(target.FullName).Metadata.Target is { } t)
            console.WriteLine($"board {b.Name} ({b.Title}, {b.Core}): the runtime checks for {(t.Features.Count == 0 ? "no special CPU features" : string.Join(", ", t.Features))} at load; publish with -p:PublishProfile={b.PublishProfile}");
        return 0;
    }

    private static void Summarise(IAnsiConsole console, ConversionReport r, FileInfo source, FileInfo target)
    {
        var inv = CultureInfo.InvariantCulture;
        var imp = r.Import;
        console.WriteLine($"{source.Name}: {imp.Model.ProducerName} {imp.Model.ProducerVersion}, opset {imp.Model.Opset}; {imp.Graph.Nodes.Count} nodes after passes");
        var table = new Table().AddColumns("layer", "weights", "params", "stored", "max |w - q|", "max rel. (row)", "int8 input range");
        foreach (var l in r.Layers)
        {
            var range = r.Ranges.FirstOrDefault(x => x.Layer == l.Layer);
            string[] cells =
            [
                l.Layer, Shapes.Format(l.Shape), l.Parameters.ToString(inv), l.Format.ToString(),
                l.MaxAbsError.ToString("G3", inv), l.MaxRelError.ToString("G3", inv),
                range is null ? "-" : $"{range.Range.ToString("G4", inv)} (max {range.MaxAbs.ToString("G4", inv)})",
            ];
            table.AddRow(cells.Select(Markup.Escape).ToArray()); // cells are markup: shapes like [N, 96] must be escaped
        }
        console.Write(table);
        long parameters = r.Layers.Sum(l => l.Parameters);
        console.WriteLine($"parameters {parameters}; ONNX {r.SourceBytes} bytes -> .ema {r.OutputBytes} bytes ({(double)r.OutputBytes / r.SourceBytes:P1})");
        console.WriteLine($"normalisation: {r.Normalization}");
        if (r.Tau is { } tau)
        {
            var fin = tau.Final;
            string Tau(float t) => float.IsPositiveInfinity(t) ? "inf" : t.ToString("G4", inv);
            console.WriteLine($"tau calibration ({tau.Target}, {tau.Samples} inputs, {tau.Evaluations} passes): global tau {Tau(tau.GlobalTau)} " +
                $"recomputes {tau.Global.RecomputeFraction.ToString("P1", inv)} of the multiply-adds; per layer:");
            foreach (var l in tau.Layers)
                console.WriteLine($"  {l.Layer} ({EdgeMixedAccum.Runtime.Engine.Evaluator.PrecisionName(l.Precision)}, {l.Macs} MACs): tau {Tau(l.Tau)}, recomputes {l.RecomputeFraction.ToString("P1", inv)}");
            console.WriteLine($"calibration set: agreement {fin.Agreement.ToString("P2", inv)}, mean rel. error vs fp32 {fin.MeanRelError.ToString("G3", inv)}, " +
                $"expected recompute fraction {fin.RecomputeFraction.ToString("P1", inv)}, modelled cost {tau.Cost.ToString("F3", inv)} (uniform fp32 = 1)");
            foreach (var c in r.Candidates)
                console.WriteLine($"  low mode {(c.Weights == WeightFormat.Int8 ? "i8" : "f16acc")}{(c.Estimator is { } e ? $" ({e.ToString().ToLowerInvariant()})" : "")}: " +
                    (c.Cost is { } cost ? $"cost {cost.ToString("F3", inv)}, recomputes {c.RecomputeFraction.ToString("P1", inv)}" : $"misses the target ({c.Why})") +
                    (c.Cost == tau.Cost && c.Estimator == tau.Estimator ? "  <- chosen" : ""));
        }
        foreach (var w in imp.Notes) console.WriteLine($"note: {w}");
        console.WriteLine($"wrote {target.FullName}");
    }

    private sealed class SyncProgress(Action<(string Step, double Fraction)> report) : IProgress<(string Step, double Fraction)>
    {
        public void Report((string Step, double Fraction) value) => report(value);
    }
}
#endif
