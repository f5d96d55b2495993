using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>
/// The modelled cost of a run, normalised by uniform fp32 (docs/study.md): sum over layers of
/// (m n c_low + estimator + f n c_high) with c_high = 1 and c_low = 1 / ratio, f the components recomputed
/// (every component of a layer run in fp32, which then has no low pass). Counts arithmetic only.
/// </summary>
public static class CostModel
{
    /// <summary>fp16 (and bf16) FMLA .8H processes twice the lanes of fp32 FMLA .4S on NEON.</summary>
    public const double RatioFp16 = 2;
    /// <summary>fp8 has no NEON arithmetic on these boards; counted as int8-class throughput (4 per fp32 lane).</summary>
    public const double RatioFp8 = 4;
    /// <summary>SDOT does 16 int8 multiply-adds per instruction against FMLA's 4 fp32 ones.</summary>
    public const double RatioI8 = 4;

    /// <summary>c_high / c_low of the runtime's precisions (1 for fp32).</summary>
    public static double Ratio(Precision p) => p switch { Precision.I8 => RatioI8, Precision.F16Acc => RatioFp16, _ => 1 };

    /// <summary>The low pass's cost per multiply-add in units of an fp32 one: 1 / ratio, doubled when the fused
    /// estimator accumulates |w||x| next to every float product (int8 bounds need no |W||x|).</summary>
    public static double LowCost(double ratio, bool fusedFloatEstimate) => (fusedFloatEstimate ? 2 : 1) / ratio;

    /// <summary>Cost of the last run of a session: each layer's low pass (unless it ran in fp32) plus its fp32 multiply-adds.</summary>
    public static double Cost(RunReport report, EstimatorKind estimator) =>
        Cost(report.Layers.Select(l => (l.Macs, l.Macs == 0 ? 0 : (double)l.F32Macs / l.Macs, l.Precision)), estimator);

    /// <summary>Cost from per-layer multiply-adds, the share of them done in fp32 and the layer's precision.</summary>
    public static double Cost(IEnumerable<(long Macs, double F32Fraction, Precision Precision)> layers, EstimatorKind estimator)
    {
        double cost = 0, macs = 0;
        foreach (var (m, f, p) in layers)
        {
            macs += m;
            cost += p == Precision.F32 ? m : m * (LowCost(Ratio(p), p == Precision.F16Acc && estimator == EstimatorKind.Fused) + f);
        }
        return macs == 0 ? 0 : cost / macs;
    }
}
