using EdgeMixedAccum.Numerics;

namespace EdgeMixedAccum.Study;

/// <summary>What `ema study` sweeps (docs/study.md).</summary>
public sealed record StudyOptions
{
    /// <summary>Low formats: fp16, bf16, fp8-e4m3, fp8-e5m2 (emulated, every multiply-add rounded) and i8.</summary>
    public IReadOnlyList<string> Formats { get; init; } = ["fp16", "bf16", "fp8-e4m3", "fp8-e5m2", "i8"];
    public IReadOnlyList<double> Taus { get; init; } = [1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001];
    /// <summary>Estimators of (|W||x|)_i for the mixed test, each its own series: "fused" (summed exactly in the
    /// pass; costs one more low-precision accumulation) and "rownorm" (||w_i||_1 max|x|; free).</summary>
    public IReadOnlyList<string> Estimators { get; init; } = ["fused"];
    /// <summary>First-order guard, as the runtime's: flagged when bound &gt; this * distance to Clip's nearest kink, or to zero.</summary>
    public double TauNegative { get; init; } = 1;
    /// <summary>Run the head layer (its output reaches a graph output) in fp32 for mixed, random and oracle.</summary>
    public bool HeadHigh { get; init; } = true;
    public int Seed { get; init; } = 1;

    /// <summary>The formats the study knows: name, emulated format (null for int8) and c_high / c_low.</summary>
    public static (string Name, FloatFormat? Format, double CostRatio) Resolve(string name) => name switch
    {
        "fp16" => ("fp16", FloatFormat.Fp16, CostModel.RatioFp16),
        "bf16" => ("bf16", FloatFormat.Bf16, CostModel.RatioFp16),
        "fp8-e4m3" => ("fp8-e4m3", FloatFormat.Fp8E4M3, CostModel.RatioFp8),
        "fp8-e5m2" => ("fp8-e5m2", FloatFormat.Fp8E5M2, CostModel.RatioFp8),
        "i8" => ("i8", null, CostModel.RatioI8),
        _ => throw new EmaException($"unknown study format '{name}' (fp16, bf16, fp8-e4m3, fp8-e5m2, i8)"),
    };
}

/// <summary>
/// The modelled cost of a run, normalised by uniform fp32: sum over layers of (m n c_low + estimator + f n c_high)
/// with c_high = 1 and c_low = 1 / ratio, f the components recomputed (every component of a layer run in fp32).
/// </summary>
public static class CostModel
{
    /// <summary>fp16 (and bf16) FMLA .8H processes twice the lanes of fp32 FMLA .4S on NEON.</summary>
    public const double RatioFp16 = 2;
    /// <summary>fp8 has no NEON arithmetic on these boards; counted as int8-class throughput (4 per fp32 lane).</summary>
    public const double RatioFp8 = 4;
    /// <summary>SDOT does 16 int8 multiply-adds per instruction against FMLA's 4 fp32 ones.</summary>
    public const double RatioI8 = 4;
}
