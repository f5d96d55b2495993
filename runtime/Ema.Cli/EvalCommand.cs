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
/// `ema eval MODEL.ema --input X.npy [--labels Y.npy] [--mode ...] [--tau T] [--json]`: runs the engine
/// sample by sample and reports accuracy, agreement with the fp32 path, the recompute fraction, the error
/// against the fp64 reference and the count of rigorous-bound violations (which must be 0).
/// </summary>
internal static class EvalCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Argument<FileInfo>("model") { Description = "the .ema model file" };
        var input = new Option<FileInfo>("--input", "-i") { Description = "inputs as .npy: [B, ...] or one sample", Required = true };
        var labels = new Option<FileInfo?>("--labels") { Description = "integer class labels as .npy [B]" };
        var limit = new Option<int?>("--limit") { Description = "evaluate only the first N samples" };
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of the table" };
        var noAudit = new Option<bool>("--no-audit") { Description = "skip the fp64 per-layer bound audit (faster)" };
        var cmd = new Command("eval", "Evaluate a model in one engine mode: accuracy, agreement with fp32, recompute fraction, error vs fp64, bound violations");
        cmd.Arguments.Add(model);
        var engine = EngineOptions.Create(cmd);
        foreach (var o in new Option[] { input, labels, limit, json, noAudit }) cmd.Options.Add(o);
        cmd.SetAction(p =>
        {
            var m = CliApp.LoadModel(p.GetValue(model)!);
            var options = engine.Read(p) with { Trace = !p.GetValue(noAudit) };
            var data = Dataset.Load(m, p.GetValue(input)!, p.GetValue(labels), p.GetValue(limit));
            var r = Run(m, options, engine.ModeName(p), data);
            if (p.GetValue(json)) stdout.WriteLine(ToJson(r));
            else Print(r, stdout);
            return 0;
        });
        return cmd;
    }

    /// <summary>Evaluates one mode against the fp32 path and the fp64 reference.</summary>
    /// <param name="warmUp">Warm the session before timing (false: its latency is not reported).</param>
    public static EvaluationResult Run(EmaModel m, SessionOptions options, string modeName, Dataset data,
        float[]? f32 = null, double[]? f64 = null, bool warmUp = true)
    {
        f64 ??= Evaluator.Reference(m, data.X, data.Batch);
        f32 ??= F32Outputs(m, options, data);
        // Sample by sample (per-sample latency, the audit's trace): one thread; --threads speeds up the fp32 pass above.
        using var s = new Session(m, options with { Threads = 1 });
        // The latency is of optimised code: without a warm-up the first mode a process times runs tier-0 JIT code for
        // most of a short dataset (`ema demo` reported f32 at 7x its latency). Outputs and report are per run: unchanged.
        if (warmUp && data.Batch > 0)
        {
            var y = new float[s.OutputLength];
            BenchCommand.WarmUp(k => s.Run(data.X.AsSpan(k % data.Batch * s.InputLength, s.InputLength), y));
        }
        return Evaluator.Evaluate(s, modeName, data.X, data.Batch, data.Labels, f32, f64, options.Trace);
    }

    /// <summary>The runtime's fp32 path on the dataset (the agreement baseline).</summary>
    public static float[] F32Outputs(EmaModel m, SessionOptions options, Dataset data)
    {
        using var s = new Session(m, options with { Mode = RunMode.F32, Trace = false, MaxBatch = Math.Max(1, data.Batch) });
        var y = new float[data.Batch * s.OutputLength];
        if (s.AnyBatch) s.Run(data.X, y, data.Batch);
        else for (int i = 0; i < data.Batch; i++) s.Run(data.X.AsSpan(i * s.InputLength, s.InputLength), y.AsSpan(i * s.OutputLength, s.OutputLength));
        return y;
    }

    private static void Print(EvaluationResult r, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine($"mode {r.Mode}: {r.Samples} samples, kernels {string.Join(", ", r.Kernels.Values)}");
        if (r.Top1 is { } t) o.WriteLine($"  top-1 accuracy        {t.ToString("P2", inv)}");
        o.WriteLine($"  agreement with f32    {r.Agreement.ToString("P2", inv)}");
        o.WriteLine($"  recomputed in fp32    {r.RecomputeFraction.ToString("P2", inv)} of multiply-adds, {r.RecomputeComponentFraction.ToString("P2", inv)} of components");
        o.WriteLine($"  rel. error vs fp64    mean {r.MeanRelError.ToString("E2", inv)}, max {r.MaxRelError.ToString("E2", inv)}");
        o.WriteLine($"  rel. error vs f32     mean {r.MeanRelErrorVsF32.ToString("E2", inv)}, max {r.MaxRelErrorVsF32.ToString("E2", inv)}");
        o.WriteLine($"  bound violations      {r.BoundViolations}");
        o.WriteLine($"  median latency        {r.MedianLatencyUs.ToString("F1", inv)} us/sample");
        o.WriteLine("  layer                 op     prec    n      components   flagged  f32 MACs  max pred.");
        foreach (var l in r.Layers)
            o.WriteLine($"  {l.Name,-20}  {l.Op,-5}  {l.Precision,-6}  {l.InnerLength,5}  {l.Components,11}  {l.Flagged,8}  {(l.Macs == 0 ? 0 : (double)l.F32Macs / l.Macs).ToString("P1", inv),8}  {l.MaxPredictedRelError.ToString("E2", inv)}");
    }

    public static string ToJson(EvaluationResult r)
    {
        var doc = new EvalJson(r.Mode, r.Samples, r.Top1, r.Agreement, r.RecomputeFraction, r.RecomputeComponentFraction,
            r.MaxRelError, r.MeanRelError, r.MaxRelErrorVsF32, r.MeanRelErrorVsF32, r.BoundViolations, r.MedianLatencyUs,
            r.Kernels, r.Layers.Select(l => new LayerJson(l.Name, l.Op, l.Precision, l.InnerLength, l.Components, l.Flagged, l.NonFinite,
                l.Macs, l.F32Macs, l.Macs == 0 ? 0 : (double)l.F32Macs / l.Macs, l.MaxPredictedRelError, l.Checked, l.BoundViolations)).ToArray());
        return JsonSerializer.Serialize(doc, EvalJsonContext.Default.EvalJson);
    }
}

internal sealed record EvalJson(
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("samples")] int Samples,
    [property: JsonPropertyName("top1")] double? Top1,
    [property: JsonPropertyName("agreement")] double Agreement,
    [property: JsonPropertyName("recompute_fraction")] double RecomputeFraction,
    [property: JsonPropertyName("recompute_component_fraction")] double RecomputeComponentFraction,
    [property: JsonPropertyName("max_rel_error")] double MaxRelError,
    [property: JsonPropertyName("mean_rel_error")] double MeanRelError,
    [property: JsonPropertyName("max_rel_error_vs_f32")] double MaxRelErrorVsF32,
    [property: JsonPropertyName("mean_rel_error_vs_f32")] double MeanRelErrorVsF32,
    [property: JsonPropertyName("bound_violations")] long BoundViolations,
    [property: JsonPropertyName("median_latency_us")] double MedianLatencyUs,
    [property: JsonPropertyName("kernels")] IReadOnlyDictionary<string, string> Kernels,
    [property: JsonPropertyName("layers")] LayerJson[] Layers);

/// <summary>One layer in `ema eval --json` and `ema run --report`; the bound audit's counts only where it ran (eval).</summary>
internal sealed record LayerJson(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("op")] string Op,
    [property: JsonPropertyName("precision")] string Precision,
    [property: JsonPropertyName("inner_length")] int InnerLength,
    [property: JsonPropertyName("components")] long Components,
    [property: JsonPropertyName("flagged")] long Flagged,
    [property: JsonPropertyName("non_finite")] long NonFinite,
    [property: JsonPropertyName("macs")] long Macs,
    [property: JsonPropertyName("f32_macs")] long F32Macs,
    [property: JsonPropertyName("recompute_fraction")] double RecomputeFraction,
    [property: JsonPropertyName("max_predicted_rel_error")] double MaxPredictedRelError,
    [property: JsonPropertyName("checked"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Checked = null,
    [property: JsonPropertyName("bound_violations"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? BoundViolations = null)
{
    public static LayerJson From(LayerReport l) => new(l.Name, l.Op.ToString(), Evaluator.PrecisionName(l.Precision), l.InnerLength,
        l.Components, l.Flagged, l.NonFinite, l.Macs, l.F32Macs, l.RecomputeFraction, l.MaxPredictedRelError);
}

[JsonSourceGenerationOptions(WriteIndented = false, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(EvalJson))]
internal sealed partial class EvalJsonContext : JsonSerializerContext;
