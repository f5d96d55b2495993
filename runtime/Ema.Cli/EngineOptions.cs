using System.CommandLine;
using System.Globalization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Cli;

/// <summary>The engine options shared by run, eval, bench and loop: --mode, --low, --tau, --estimator, --kernels, --threads.</summary>
internal sealed class EngineOptions
{
    private readonly Option<string> _mode = new("--mode") { Description = "f32 | i8 | f16acc (uniform low, nothing recomputed) | adaptive (Algorithm 1)", DefaultValueFactory = _ => "adaptive" };
    private readonly Option<string?> _low = new("--low") { Description = "adaptive: low precision of every low layer, i8 or f16acc (default: the model's plan)" };
    private readonly Option<float?> _tau = new("--tau") { Description = "adaptive: flag tolerance for every layer (default: the model's plan)" };
    private readonly Option<string?> _layerTau = new("--layer-tau") { Description = "adaptive: per-layer tau, 'name=tau,name=tau' (after --tau)" };
    private readonly Option<string?> _estimator = new("--estimator") { Description = "fused | rownorm | blocked (default: the model's plan)" };
    private readonly Option<string> _bound = new("--flag-bound") { Description = "probabilistic (sqrt(n) u) or rigorous (gamma_n) constant in the flag test", DefaultValueFactory = _ => "probabilistic" };
    private readonly Option<string> _criterion = new("--criterion") { Description = "adaptive: flag test, full (PAPER.md, with the sign guard) or authors (kappa_phi/|s| > tau, no bound: cheaper, blind to uncertain signs)", DefaultValueFactory = _ => "full" };
    private readonly Option<string> _kernels = new("--kernels") { Description = "auto, or generic to force the scalar reference kernels", DefaultValueFactory = _ => "auto" };
    private readonly Option<int> _threads = new("--threads") { Description = $"threads a batched run splits its samples over, 1 to {SessionOptions.MaxThreads} (a run of one sample uses one; eval runs one sample at a time, so only its fp32 baseline pass uses them)", DefaultValueFactory = _ => 1 };

    /// <param name="allowF64">`ema run` also accepts --mode f64: the fp64 reference executor (no session).</param>
    public static EngineOptions Create(Command cmd, bool allowF64 = false)
    {
        var e = new EngineOptions();
        if (allowF64)
        {
            e._mode.Description += " | f64 (the fp64 reference executor: the error baseline)";
            e._mode.AcceptOnlyFromAmong("f32", "i8", "f16acc", "adaptive", "f64");
        }
        else e._mode.AcceptOnlyFromAmong("f32", "i8", "f16acc", "adaptive");
        e._low.AcceptOnlyFromAmong("i8", "f16acc");
        e._estimator.AcceptOnlyFromAmong("fused", "rownorm", "blocked");
        e._bound.AcceptOnlyFromAmong("probabilistic", "rigorous");
        e._kernels.AcceptOnlyFromAmong("auto", "generic");
        e._criterion.AcceptOnlyFromAmong("full", "authors");
        foreach (var o in new Option[] { e._mode, e._low, e._tau, e._layerTau, e._estimator, e._bound, e._criterion, e._kernels, e._threads }) cmd.Options.Add(o);
        return e;
    }

    /// <summary>True for --mode f64 (only `ema run` accepts it).</summary>
    public bool IsF64(ParseResult p) => p.GetValue(_mode) == "f64";

    public string ModeName(ParseResult p) => p.GetValue(_mode) == "adaptive" && p.GetValue(_low) is { } low ? $"adaptive-{low}" : p.GetValue(_mode)!;

    public SessionOptions Read(ParseResult p) => new()
    {
        Mode = ParseMode(p.GetValue(_mode)!),
        Low = p.GetValue(_low) switch { "i8" => Precision.I8, "f16acc" => Precision.F16Acc, _ => null },
        Tau = p.GetValue(_tau),
        LayerTau = ParseLayerTau(p.GetValue(_layerTau)),
        Estimator = p.GetValue(_estimator) switch { "fused" => EstimatorKind.Fused, "rownorm" => EstimatorKind.RowNorm, "blocked" => EstimatorKind.Blocked, _ => null },
        FlagBound = p.GetValue(_bound) == "rigorous" ? FlagBound.Rigorous : FlagBound.Probabilistic,
        Criterion = p.GetValue(_criterion) == "authors" ? FlagCriterion.Authors : FlagCriterion.Full,
        Kernels = p.GetValue(_kernels) == "generic" ? new() { ForceGeneric = true } : Runtime.Kernels.KernelOptions.Default,
        Threads = p.GetValue(_threads) is var t and >= 1 and <= SessionOptions.MaxThreads ? t
            : throw new EmaException($"--threads {p.GetValue(_threads)}: must be 1 to {SessionOptions.MaxThreads}"),
    };

    private static Dictionary<string, float>? ParseLayerTau(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var d = new Dictionary<string, float>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.LastIndexOf('=');
            if (eq <= 0 || !TryParseTau(part[(eq + 1)..], out var t))
                throw new EmaException($"--layer-tau: '{part}' is not name=tau with tau >= 0");
            d[part[..eq]] = t;
        }
        return d;
    }

    /// <summary>A tolerance: a non-negative number, or inf / infinity.</summary>
    internal static bool TryParseTau(string text, out float tau)
    {
        tau = float.PositiveInfinity;
        if (text.Trim().ToLowerInvariant() is "inf" or "infinity" or "+inf") return true;
        return float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out tau) && !float.IsNaN(tau) && tau >= 0;
    }

    public static RunMode ParseMode(string s) => s switch
    {
        "f32" => RunMode.F32, "i8" => RunMode.I8, "f16acc" => RunMode.F16Acc, _ => RunMode.Adaptive,
    };
}
