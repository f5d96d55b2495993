using System.Globalization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Converters.Quantization;

/// <summary>What calibrated tau must reach on the calibration inputs, against the runtime's fp32 path.
/// Exactly one of the two is set.</summary>
/// <param name="Agreement">Minimum share of samples whose top-1 (argmax of the output) equals the fp32 path's.</param>
/// <param name="Error">Maximum mean relative output error, per sample norm-wise ||y - y32||_2 / ||y32||_2, averaged.</param>
public sealed record TauTarget(double? Agreement = null, double? Error = null)
{
    public static TauTarget ForAgreement(double a) => new(Agreement: a);
    public static TauTarget ForError(double e) => new(Error: e);

    /// <summary>Throws <see cref="EmaException"/> unless exactly one target is set and it is in its domain.</summary>
    public void Validate()
    {
        if (Agreement is null == Error is null)
            throw new EmaException("give exactly one of a target agreement and a target error");
        if (Agreement is { } a && !(a > 0 && a <= 1))
            throw new EmaException($"target agreement must be in (0, 1], got {a.ToString(CultureInfo.InvariantCulture)}");
        if (Error is { } e && !(e >= 0 && double.IsFinite(e)))
            throw new EmaException($"target error must be finite and >= 0, got {e.ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>Whether an evaluation meets this target.</summary>
    public bool IsMetBy(TauEvaluation e) => Agreement is { } a ? e.Agreement >= a : e.MeanRelError <= Error!.Value;

    public override string ToString() => Agreement is { } a
        ? $"agreement >= {a.ToString("G6", CultureInfo.InvariantCulture)}"
        : $"mean relative error <= {Error!.Value.ToString("G6", CultureInfo.InvariantCulture)}";
}

/// <summary>Adaptive mode with one tau assignment over a data set, against the fp32 path's outputs.</summary>
/// <param name="RecomputeFraction">Multiply-adds done in fp32 over all multiply-adds, as the engine reports it
/// (flagged components weighted by their length, plus fp32 layers), summed over the data set.</param>
/// <param name="LayerRecomputeFraction">The same per layer (flagged multiply-adds over the layer's multiply-adds).</param>
public sealed record TauEvaluation(int Samples, double Agreement, double MeanRelError, double MaxRelError, double RecomputeFraction,
    IReadOnlyDictionary<string, double> LayerRecomputeFraction);

/// <summary>The tau chosen for one low-precision layer.</summary>
/// <param name="Macs">The layer's multiply-adds per sample (the search loosens layers in decreasing order of it).</param>
public sealed record LayerTauChoice(string Layer, Precision Precision, long Macs, float Tau, double RecomputeFraction);

/// <summary>What <see cref="TauCalibrator.Calibrate"/> chose and what it reached on the calibration inputs.</summary>
/// <param name="GlobalTau">The largest grid tau meeting the target with one tau for every low layer.</param>
/// <param name="Global">That global tau's evaluation (the cost the per-layer search starts from).</param>
/// <param name="Layers">The per-layer taus after loosening, in graph order (layers planned fp32 are not listed).</param>
/// <param name="Final">The evaluation of the per-layer taus: what the calibration set reaches.</param>
/// <param name="Evaluations">Passes over the calibration set the search took.</param>
public sealed record TauCalibrationResult(TauTarget Target, int Samples, float GlobalTau, TauEvaluation Global,
    IReadOnlyList<LayerTauChoice> Layers, TauEvaluation Final, int Evaluations)
{
    /// <summary>The estimator the search ran with and writes into the plans (null: each layer keeps its plan's).</summary>
    public EstimatorKind? Estimator { get; init; }

    /// <summary>Modelled cost of the final taus on the calibration set (<see cref="CostModel"/>; uniform fp32 = 1).</summary>
    public double Cost { get; init; }

    /// <summary>The chosen tau by layer name, as <see cref="SessionOptions.LayerTau"/> takes it.</summary>
    public IReadOnlyDictionary<string, float> LayerTau => Layers.ToDictionary(l => l.Layer, l => l.Tau);
}

/// <summary>
/// Chooses tau per layer from calibration inputs so that adaptive mode meets a target (top-1 agreement with,
/// or mean relative error against, the runtime's fp32 path) at the lowest modelled cost (docs/engine.md,
/// "Calibrated tau"). The cost is the engine's recompute fraction: at a fixed low precision every layer's
/// low pass costs the same for every tau, so the multiply-adds redone in fp32 order the costs.
/// </summary>
/// <remarks>
/// Search: (1) one tau for every low layer from a log grid (+inf, 1, 0.5, 0.2, ..., 1e-4, 0), largest first;
/// the first that meets the target is the global tau. (2) Layer by layer, most multiply-adds first, loosen that
/// layer's tau: +inf, else x2, x4, ... while the target still holds and the recompute fraction does not grow
/// (so the result never costs more than the global tau on the calibration set). Run it on the final model:
/// after quantisation and after the static int8 scales are set.
/// </remarks>
public static class TauCalibrator
{
    /// <summary>The global grid, loosest first; 0 recomputes every component the flag test can flag.</summary>
    public static IReadOnlyList<float> Grid { get; } =
        [float.PositiveInfinity, 1f, 0.5f, 0.2f, 0.1f, 0.05f, 0.02f, 0.01f, 0.005f, 0.002f, 0.001f, 5e-4f, 2e-4f, 1e-4f, 0f];

    /// <summary>The largest finite tau the per-layer search tries before giving up on a layer (+inf is tried first).</summary>
    public const float MaxFiniteTau = 1e4f;

    private const int Chunk = 256;

    /// <param name="model">The converted model in memory (quantised, static scales set).</param>
    /// <param name="x">Raw calibration inputs, samples back to back (as the session takes them: the stored
    /// normalisation, if any, is applied by the session).</param>
    /// <param name="estimator">Estimator of (|W||x|)_i to calibrate with and store (null: each layer's plan).</param>
    public static TauCalibrationResult Calibrate(EmaModel model, float[] x, TauTarget target, IProgress<double>? progress = null,
        EstimatorKind? estimator = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(target);
        target.Validate();
        var reference = Reference(model, x, out int samples);
        if (samples == 0) throw new EmaException("tau calibration needs at least one calibration input");

        var low = model.Graph.Nodes.OfType<LayerNode>().Where(l => l.Plan.Precision != Precision.F32).Select(l => l.Name).ToList();
        int evaluations = 0;
        int estimate = Grid.Count + 6 * low.Count;
        TauEvaluation Eval(float globalTau, IReadOnlyDictionary<string, float>? layerTau)
        {
            var e = Measure(model, new SessionOptions { Mode = RunMode.Adaptive, Tau = globalTau, LayerTau = layerTau, Estimator = estimator }, x, reference, out _);
            evaluations++;
            progress?.Report(Math.Min(0.99, (double)evaluations / estimate));
            return e;
        }

        // (1) Global tau: the largest grid value meeting the target.
        float global = float.NaN;
        TauEvaluation? globalEval = null, best = null;
        foreach (float t in Grid)
        {
            var e = Eval(t, null);
            if (best is null || Better(target, e, best)) best = e;
            if (target.IsMetBy(e)) { global = t; globalEval = e; break; }
        }
        if (globalEval is null)
            throw new EmaException($"target {target} cannot be met on the {samples} calibration inputs: even tau = 0 " +
                $"(every flaggable component recomputed in fp32) reaches at best agreement {Fmt(best!.Agreement)}, " +
                $"mean relative error {Fmt(best.MeanRelError)} against the fp32 path");

        // (2) Per layer, most multiply-adds first: loosen while the target holds and the cost does not grow.
        var macs = MacsPerSample(model, x, samples);
        var current = low.ToDictionary(n => n, _ => global);
        var cur = globalEval;
        foreach (var name in low.OrderByDescending(n => macs[n]).ThenBy(n => low.IndexOf(n)))
        {
            bool Try(float tau)
            {
                var trial = new Dictionary<string, float>(current) { [name] = tau };
                var e = Eval(global, trial);
                if (!target.IsMetBy(e) || e.RecomputeFraction > cur.RecomputeFraction) return false;
                current = trial; cur = e;
                return true;
            }
            if (float.IsPositiveInfinity(current[name]) || Try(float.PositiveInfinity)) continue;
            for (float tau = Next(current[name]); tau <= MaxFiniteTau && Try(tau); tau = Next(tau)) { }
        }
        progress?.Report(1);

        var layers = model.Graph.Nodes.OfType<LayerNode>().Where(l => l.Plan.Precision != Precision.F32)
            .Select(l => new LayerTauChoice(l.Name, l.Plan.Precision, macs[l.Name], current[l.Name], cur.LayerRecomputeFraction[l.Name]))
            .ToList();
        var est = estimator ?? model.Graph.Nodes.OfType<LayerNode>().Where(l => l.Plan.Precision != Precision.F32)
            .Select(l => l.Plan.Estimator).DefaultIfEmpty(EstimatorKind.Fused).First();
        double cost = CostModel.Cost(model.Graph.Nodes.OfType<LayerNode>()
            .Select(l => (macs[l.Name], cur.LayerRecomputeFraction.GetValueOrDefault(l.Name, 1.0), l.Plan.Precision)), est);
        return new TauCalibrationResult(target, samples, global, globalEval, layers, cur, evaluations) { Estimator = estimator, Cost = cost };
    }

    /// <summary>Writes the chosen taus into the plans of the model's layers.</summary>
    public static void Apply(ModelGraph g, TauCalibrationResult result)
    {
        var taus = result.LayerTau;
        foreach (var layer in g.Nodes.OfType<LayerNode>())
            if (taus.TryGetValue(layer.Name, out float tau))
                layer.Plan = layer.Plan with { Tau = tau, Estimator = result.Estimator ?? layer.Plan.Estimator };
    }

    /// <summary>The runtime's fp32 outputs for raw inputs <paramref name="x"/> (samples back to back).</summary>
    public static float[] Reference(EmaModel model, float[] x, out int samples)
    {
        using var s = new Session(model, new SessionOptions { Mode = RunMode.F32, MaxBatch = Chunk });
        samples = Samples(s, x);
        var y = new float[(long)samples * s.OutputLength];
        RunAll(s, x, samples, y, null);
        return y;
    }

    /// <summary>Runs a session with <paramref name="options"/> over <paramref name="x"/> and compares it with
    /// <paramref name="reference"/> (the fp32 outputs, <see cref="Reference"/>).</summary>
    public static TauEvaluation Measure(EmaModel model, SessionOptions options, float[] x, float[] reference, out float[] outputs)
    {
        using var s = new Session(model, options with { MaxBatch = Math.Max(options.MaxBatch, Chunk) });
        int samples = Samples(s, x);
        int outLen = s.OutputLength;
        if (reference.Length != (long)samples * outLen)
            throw new ArgumentException($"reference holds {reference.Length} floats; {samples} samples need {(long)samples * outLen}", nameof(reference));
        var y = outputs = new float[reference.Length];
        var totals = RunReport.Totals(s.LastReport);
        RunAll(s, x, samples, y, totals.Add);
        int agree = 0;
        double sum = 0, max = 0;
        for (int i = 0; i < samples; i++)
        {
            var a = y.AsSpan(i * outLen, outLen);
            var b = reference.AsSpan(i * outLen, outLen);
            if (OutputMetrics.ArgMax<float>(a) == OutputMetrics.ArgMax<float>(b)) agree++;
            double e = OutputMetrics.RelativeError<float, float>(a, b);
            if (double.IsNaN(e)) e = double.PositiveInfinity;
            sum += e; max = Math.Max(max, e);
        }
        return new TauEvaluation(samples, samples == 0 ? 1 : (double)agree / samples, samples == 0 ? 0 : sum / samples, max,
            totals.RecomputeFraction, totals.Layers.ToDictionary(l => l.Name, l => l.RecomputeFraction));
    }

    /// <summary>The next looser tau of the per-layer search: x2 (from 0, half the grid's smallest positive value).</summary>
    private static float Next(float tau) => tau == 0 ? Grid[^2] / 2 : tau * 2;

    /// <summary>Whether <paramref name="a"/> is closer to the target than <paramref name="b"/> (for the error message).</summary>
    private static bool Better(TauTarget target, TauEvaluation a, TauEvaluation b) =>
        target.Agreement is not null
            ? a.Agreement > b.Agreement || (a.Agreement == b.Agreement && a.MeanRelError < b.MeanRelError)
            : a.MeanRelError < b.MeanRelError;

    private static Dictionary<string, long> MacsPerSample(EmaModel model, float[] x, int samples)
    {
        using var s = new Session(model, new SessionOptions { Mode = RunMode.F32 });
        var one = new float[s.OutputLength];
        s.Run(x.AsSpan(0, s.InputLength), one);
        return s.LastReport.Layers.ToDictionary(l => l.Name, l => l.Macs);
    }

    /// <summary>Samples (units of the session's input) in <paramref name="x"/>; a fixed-batch model's unit is its whole batch.</summary>
    private static int Samples(Session s, float[] x)
    {
        if (s.InputLength == 0 || x.Length % s.InputLength != 0)
            throw new EmaException($"calibration data holds {x.Length} floats, not a whole number of inputs of {s.InputLength}");
        return x.Length / s.InputLength;
    }

    private static void RunAll(Session s, float[] x, int samples, float[] y, Action<RunReport>? report)
    {
        int inLen = s.InputLength, outLen = s.OutputLength;
        int chunk = s.AnyBatch ? Chunk : 1;
        for (int i = 0; i < samples; i += chunk)
        {
            int n = Math.Min(chunk, samples - i);
            s.Run(x.AsSpan(i * inLen, n * inLen), y.AsSpan(i * outLen, n * outLen), n);
            report?.Invoke(s.LastReport);
        }
    }

    private static string Fmt(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}
