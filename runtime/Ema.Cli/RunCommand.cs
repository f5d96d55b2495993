using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Reference;
using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Cli;

/// <summary>
/// `ema run MODEL.ema --input X.npy [--mode f32|i8|f16acc|adaptive|f64] [--report R.json]`: runs a model on a
/// batch of inputs with the engine (a <see cref="Session"/>, batched in chunks) and prints predictions,
/// accuracy against --labels and the share of multiply-adds recomputed in fp32. `--mode f64` runs the fp64
/// reference executor instead (the error baseline; no session, no report).
/// </summary>
internal static class RunCommand
{
    private const int Chunk = 256;

    public static Command Create(TextWriter stdout)
    {
        var model = new Argument<FileInfo>("model") { Description = "the .ema model file" };
        var input = new Option<FileInfo>("--input", "-i") { Description = "inputs as .npy: [B, ...] or one sample", Required = true };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "write the first output as .npy (float32)" };
        var labels = new Option<FileInfo?>("--labels") { Description = "integer class labels as .npy [B] to report top-1 accuracy" };
        var show = new Option<int>("--show") { Description = "print this many per-sample predictions", DefaultValueFactory = _ => 10 };
        var report = new Option<FileInfo?>("--report") { Description = "write the per-layer accounting of the run (precision, components, flagged, MACs) as JSON" };
        var cmd = new Command("run", "Run a model on inputs from a .npy file with the mixed-precision engine and print predictions");
        cmd.Arguments.Add(model);
        var engine = EngineOptions.Create(cmd, allowF64: true);
        foreach (var o in new Option[] { input, output, labels, show, report }) cmd.Options.Add(o);
        cmd.SetAction(p =>
        {
            var m = CliApp.LoadModel(p.GetValue(model)!);
            var data = Dataset.Load(m, p.GetValue(input)!, p.GetValue(labels), null);
            bool f64 = engine.IsF64(p);
            if (f64 && p.GetValue(report) is not null) throw new EmaException("--report needs an engine mode (f32, i8, f16acc or adaptive); f64 is the reference executor");
            return Execute(m, data, f64 ? null : engine.Read(p), engine.ModeName(p), p.GetValue(output), p.GetValue(report), p.GetValue(show), stdout);
        });
        return cmd;
    }

    /// <param name="options">engine options, or null for the fp64 reference executor.</param>
    public static int Execute(EmaModel m, Dataset data, SessionOptions? options, string modeName, FileInfo? outputFile, FileInfo? reportFile, int show, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        float[] all;
        int[] outShape;
        string how;
        RunReportJson? report = null;
        if (options is null)
        {
            (all, outShape) = RunF64(m, data);
            how = "fp64 reference executor";
        }
        else
        {
            using var s = new Session(m, options with { MaxBatch = Math.Max(1, Math.Min(Chunk, data.Batch)) });
            foreach (var w in s.Warnings) o.WriteLine($"warning: {w}");
            var acc = RunReport.Totals(s.LastReport);
            if (s.AnyBatch)
            {
                all = new float[(long)data.Batch * s.OutputLength];
                for (int start = 0; start < data.Batch; start += Chunk)
                {
                    int n = Math.Min(Chunk, data.Batch - start);
                    s.Run(data.X.AsSpan(start * s.InputLength, n * s.InputLength), all.AsSpan(start * s.OutputLength, n * s.OutputLength), n);
                    acc.Add(s.LastReport);
                }
                outShape = Shapes.Resolve(m.Graph.Values[m.Graph.Outputs[0]].Shape, data.Batch);
            }
            else
            {
                // A fixed batch: every run is one unit of the declared shape.
                int units = s.InputLength == 0 ? 0 : data.X.Length / s.InputLength;
                all = new float[(long)units * s.OutputLength];
                for (int u = 0; u < units; u++)
                {
                    s.Run(data.X.AsSpan(u * s.InputLength, s.InputLength), all.AsSpan(u * s.OutputLength, s.OutputLength));
                    acc.Add(s.LastReport);
                }
                outShape = (int[])m.Graph.Values[m.Graph.Outputs[0]].Shape.Clone();
                if (units > 1 && outShape.Length > 0) outShape[0] *= units;
            }
            var lowKernels = s.LastReport.Layers.Select(l => l.Precision).Where(pr => pr != Precision.F32).Distinct()
                .Select(pr => s.Kernels.Chosen[pr == Precision.I8 ? "i8-gemv" : "f16acc-gemv"]).ToList();
            how = $"engine, mode {modeName}, low-pass kernels {(lowKernels.Count == 0 ? "none (all fp32)" : string.Join(", ", lowKernels))}";
            report = RunReportJson.From(acc, m.Metadata.ModelName, modeName, data.Batch, s.Kernels.Chosen);
        }

        var sampleShape = data.Shape;
        o.WriteLine($"model {m.Metadata.ModelName}: {data.Batch} input(s) {Shapes.Format(sampleShape.AsSpan(1))} -> {Shapes.Format(outShape.AsSpan(Math.Min(1, outShape.Length)))} ({how})");
        if (report is not null)
            o.WriteLine($"recomputed in fp32 {report.RecomputeFraction.ToString("P2", inv)} of multiply-adds ({report.RecomputeComponentFraction.ToString("P2", inv)} of components)");
        int classes = outShape.Length == 0 ? 1 : outShape[^1];
        int correct = 0;
        int rows = classes == 0 ? 0 : all.Length / classes;
        var y = data.Labels;
        for (int i = 0; i < rows; i++)
        {
            int best = 0;
            for (int c = 1; c < classes; c++) if (all[i * classes + c] > all[i * classes + best]) best = c;
            if (y is not null && i < y.Length && y[i] == best) correct++;
            if (i < show)
            {
                string name = best < m.Metadata.Labels.Count ? m.Metadata.Labels[best] : best.ToString(inv);
                string truth = y is null || i >= y.Length ? "" : $"  label {(y[i] < m.Metadata.Labels.Count && y[i] >= 0 ? m.Metadata.Labels[(int)y[i]] : y[i].ToString(inv))}";
                o.WriteLine($"  [{i}] top-1 {name} ({all[i * classes + best].ToString("G4", inv)}){truth}");
            }
        }
        if (y is not null && data.Batch > 0)
            o.WriteLine($"top-1 accuracy {((double)correct / data.Batch).ToString("P2", inv)} ({correct}/{data.Batch})");
        if (outputFile is not null)
        {
            NpyFile.Write(outputFile.FullName, NpyArray.FromFloat32(all, outShape));
            o.WriteLine($"wrote {outputFile.FullName} {Shapes.Format(outShape)}");
        }
        if (reportFile is not null && report is not null)
        {
            File.WriteAllText(reportFile.FullName, JsonSerializer.Serialize(report, RunReportJsonContext.Default.RunReportJson));
            o.WriteLine($"wrote {reportFile.FullName} (per-layer report)");
        }
        return 0;
    }

    /// <summary>The fp64 reference executor in chunks (outputs rounded to float32).</summary>
    private static (float[] Y, int[] Shape) RunF64(EmaModel m, Dataset data)
    {
        int per = data.Batch == 0 ? 0 : data.X.Length / data.Batch;
        var outputs = new List<float>();
        int[]? outSample = null;
        for (int start = 0; start < data.Batch; start += Chunk)
        {
            int n = Math.Min(Chunk, data.Batch - start);
            var shape = (int[])data.Shape.Clone();
            shape[0] = n;
            var r = ReferenceExecutor.Run<double>(m, (data.X.AsSpan(start * per, n * per).ToArray(), shape))[0];
            outSample ??= r.Shape;
            outputs.AddRange(r.ToFloat());
        }
        var outShape = (int[])(outSample ?? Shapes.Resolve(m.Graph.Values[m.Graph.Outputs[0]].Shape, 0)).Clone();
        outShape[0] = data.Batch;
        return (outputs.ToArray(), outShape);
    }
}

internal sealed record RunReportJson(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("samples")] int Samples,
    [property: JsonPropertyName("recompute_fraction")] double RecomputeFraction,
    [property: JsonPropertyName("recompute_component_fraction")] double RecomputeComponentFraction,
    [property: JsonPropertyName("macs")] long Macs,
    [property: JsonPropertyName("f32_macs")] long F32Macs,
    [property: JsonPropertyName("components")] long Components,
    [property: JsonPropertyName("f32_components")] long F32Components,
    [property: JsonPropertyName("kernels")] IReadOnlyDictionary<string, string> Kernels,
    [property: JsonPropertyName("layers")] LayerJson[] Layers)
{
    public static RunReportJson From(RunReport t, string model, string mode, int samples, IReadOnlyDictionary<string, string> kernels) =>
        new(model, mode, samples, t.RecomputeFraction, t.RecomputeComponentFraction, t.Macs, t.F32Macs, t.Components, t.F32Components,
            kernels, t.Layers.Select(l => LayerJson.From(l)).ToArray());
}

[JsonSourceGenerationOptions(WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(RunReportJson))]
internal sealed partial class RunReportJsonContext : JsonSerializerContext;
