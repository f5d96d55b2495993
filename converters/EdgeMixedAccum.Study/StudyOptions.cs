using EdgeMixedAccum.Numerics;
using EdgeMixedAccum.Runtime.Engine;

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
