using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Numerics;
using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Study;

/// <summary>What `ema study` sweeps (docs/study.md).</summary>
public sealed record StudyOptions
{
    /// <summary>Low formats, each studied as the two-level ladder "low:fp32": fp16, bf16, fp8-e4m3, fp8-e5m2 (emulated,
    /// every multiply-add rounded) and i8.</summary>
    public IReadOnlyList<string> Formats { get; init; } = ["fp16", "bf16", "fp8-e4m3", "fp8-e5m2", "i8"];
    /// <summary>Further precision ladders, low to high, e.g. "fp8-e4m3:fp16" (the authors') or "i8:fp16:fp32".</summary>
    public IReadOnlyList<string> Ladders { get; init; } = [];
    public IReadOnlyList<double> Taus { get; init; } = [1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001];
    /// <summary>Estimators of (|W||x|)_i for the mixed test, each its own series: "fused" (summed exactly in the
    /// pass; costs one more low-precision accumulation) and "rownorm" (||w_i||_1 max|x|; free).</summary>
    public IReadOnlyList<string> Estimators { get; init; } = ["fused"];
    /// <summary>Flag criteria (<see cref="StudyCriterion"/>), each with its own random and oracle rows.</summary>
    public IReadOnlyList<string> Criteria { get; init; } = [StudyCriterion.FullSign];
    /// <summary>First-order guard of full+sign, as the runtime's: flagged when bound &gt; this * distance to Clip's nearest kink, or to zero.</summary>
    public double TauNegative { get; init; } = 1;
    /// <summary>Run the head layer (its output reaches a graph output) in fp32 for mixed, random and oracle.</summary>
    public bool HeadHigh { get; init; } = true;
    /// <summary>Round every Dense/Conv weight and bias to this format once, before anything (fp64 reference included),
    /// as the authors rounded their trained weights to FP8; null keeps the model's weights.</summary>
    public string? WeightsFormat { get; init; }
    /// <summary>Round each layer's input to the accumulation format (true) or feed the fp32 activations to every
    /// multiply-add as they are (false: the authors' code multiplies in fp32 and rounds the sums).</summary>
    public bool RoundInputs { get; init; } = true;
    /// <summary>Accumulation block: 1 is plain recursive summation; b &gt; 1 sums blocks of b terms from zero, then adds the block sums.</summary>
    public int BlockSize { get; init; } = 1;
    public int Seed { get; init; } = 1;

    /// <summary>The ladders studied: each of <see cref="Formats"/> as "f:fp32", then <see cref="Ladders"/>, without repeats.</summary>
    public IReadOnlyList<StudyLadder> AllLadders() =>
        Formats.Select(f => StudyLadder.Parse(f)).Concat(Ladders.Select(StudyLadder.Parse)).DistinctBy(l => l.Name).ToArray();

    /// <summary>The formats the study knows: name, emulated format (null for int8) and c_fp32 / c_format.</summary>
    public static (string Name, FloatFormat? Format, double CostRatio) Resolve(string name) => name switch
    {
        "fp32" => ("fp32", FloatFormat.Fp32, 1),
        "fp16" => ("fp16", FloatFormat.Fp16, CostModel.RatioFp16),
        "bf16" => ("bf16", FloatFormat.Bf16, CostModel.RatioFp16),
        "fp8-e4m3" => ("fp8-e4m3", FloatFormat.Fp8E4M3, CostModel.RatioFp8),
        "fp8-e4m3-ieee" => ("fp8-e4m3-ieee", FloatFormat.Fp8E4M3Ieee, CostModel.RatioFp8),
        "fp8-e5m2" => ("fp8-e5m2", FloatFormat.Fp8E5M2, CostModel.RatioFp8),
        "i8" => ("i8", null, CostModel.RatioI8),
        _ => throw new EmaException($"unknown study format '{name}' (fp16, bf16, fp8-e4m3, fp8-e4m3-ieee, fp8-e5m2, i8, fp32)"),
    };
}

/// <summary>The flag criteria the study compares (docs/study.md).</summary>
public static class StudyCriterion
{
    /// <summary>PAPER.md's test: kappa_phi(s_hat) * bound / |s_hat| &gt; tau, bound = c(n) u (|W||x| + |b|)_i.</summary>
    public const string Full = "full";
    /// <summary><see cref="Full"/> plus the runtime's first-order guard: bound &gt; tau_negative * distance to a kink or to zero
    /// (for ReLU: the sign itself is uncertain, so kappa_phi(s_hat) = 0 says nothing).</summary>
    public const string FullSign = "full+sign";
    /// <summary>The authors' code: kappa_phi(s_hat) / |s_hat| &gt; tau, no |W||x| term and no unit roundoff.</summary>
    public const string Authors = "authors";

    /// <summary>Absolute error after the activation against the layer's output scale: bound * max|phi'| over
    /// [s_hat - bound, s_hat + bound] &gt; tau * rms(phi(s_hat)) over the layer (per sample).</summary>
    public const string Normwise = "normwise";

    public static readonly IReadOnlyList<string> All = [Full, FullSign, Authors, Normwise];

    /// <summary>
    /// Whether the criterion rejects a result s_hat (kappa = kappa_phi(s_hat)) whose error bound is <paramref name="bound"/>:
    /// the component is then recomputed at a higher level. <paramref name="scale"/> is the layer's rms(phi(s_hat)), used by
    /// <see cref="Normwise"/> only.
    /// </summary>
    public static bool Rejects(string criterion, in Activation act, double s, double kappa, double bound, double tau, double tauNegative, double scale) => criterion switch
    {
        Authors => FlagTest.FlagsAuthors(s, kappa, tau),
        Full => FlagTest.Flags(act, s, kappa, bound, tau, double.PositiveInfinity, out _),
        FullSign => FlagTest.Flags(act, s, kappa, bound, tau, tauNegative, out _),
        Normwise => !(bound * SlopeBound(act, s, bound) <= tau * scale),
        _ => throw new EmaException($"unknown criterion '{criterion}'"),
    };

    /// <summary>The largest |phi'| over [s - bound, s + bound], sampled at the ends and at the point nearest zero
    /// (exact for the activations whose slope peaks at zero or is piecewise constant: ReLU, LeakyReLU, tanh, sigmoid, identity).</summary>
    public static double SlopeBound(in Activation act, double s, double bound)
    {
        double a = s - bound, b = s + bound, c = Math.Clamp(0, a, b);
        return Math.Max(Math.Abs(ActivationMath.Derivative(act, c)), Math.Max(Math.Abs(ActivationMath.Derivative(act, a)), Math.Abs(ActivationMath.Derivative(act, b))));
    }

    public static string Parse(string name) => All.Contains(name) ? name
        : throw new EmaException($"unknown criterion '{name}' ({string.Join(", ", All)}; random and oracle come with each)");
}

/// <summary>A precision ladder: the low pass's format first, each component recomputed in the cheapest higher level the criterion accepts, the last level unconditionally.</summary>
public sealed record StudyLadder(IReadOnlyList<string> Levels)
{
    public string Name => string.Join(':', Levels);

    /// <summary>The fp32 reference, a one-level ladder.</summary>
    public static readonly StudyLadder Fp32 = new(["fp32"]);

    /// <summary>"f" means "f:fp32"; otherwise levels low to high separated by ':'. Each level must be strictly more
    /// precise than the one below (a smaller unit roundoff), int8 only at the bottom, fp32 only at the top.</summary>
    public static StudyLadder Parse(string text)
    {
        var parts = text.Split(':', StringSplitOptions.TrimEntries);
        if (parts.Length == 1 && parts[0] != "fp32") parts = [parts[0], "fp32"];
        var names = parts.Select(p => StudyOptions.Resolve(p).Name).ToArray();
        if (names.Length < 2) throw new EmaException($"ladder '{text}': needs at least two levels (low:high)");
        for (int i = 0; i < names.Length; i++)
        {
            if (names[i] == "i8" && i > 0) throw new EmaException($"ladder '{text}': i8 can only be the lowest level");
            if (names[i] == "fp32" && i < names.Length - 1) throw new EmaException($"ladder '{text}': fp32 can only be the highest level");
            if (i > 0 && names[i - 1] != "i8" && StudyOptions.Resolve(names[i]).Format!.UnitRoundoff >= StudyOptions.Resolve(names[i - 1]).Format!.UnitRoundoff)
                throw new EmaException($"ladder '{text}': {names[i]} is not more precise than {names[i - 1]}");
        }
        return new StudyLadder(names);
    }
}
