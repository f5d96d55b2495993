using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>What one Dense or Conv layer did in the last run (all samples of the batch).</summary>
public sealed class LayerReport
{
    internal LayerReport(string name, OpKind op, Precision precision, int innerLength)
    {
        Name = name; Op = op; Precision = precision; InnerLength = innerLength;
    }

    public string Name { get; }
    public OpKind Op { get; }
    /// <summary>Precision of the layer's pass: fp32, or the low precision of its first pass.</summary>
    public Precision Precision { get; }
    /// <summary>Length n of every inner product (Dense: input features; Conv: C_in/groups * kernel area).</summary>
    public int InnerLength { get; }
    /// <summary>Output components computed (inner products).</summary>
    public long Components { get; internal set; }
    /// <summary>Components flagged by the test and recomputed in fp32 (0 for an fp32 layer).</summary>
    public long Flagged { get; internal set; }
    /// <summary>Components whose low result was NaN or infinite: flagged and recomputed in adaptive mode, left as
    /// they are (but counted, so a caller sees it) in the uniform modes.</summary>
    public long NonFinite { get; internal set; }
    /// <summary>Multiply-adds of the layer: Components * InnerLength.</summary>
    public long Macs => Components * InnerLength;
    /// <summary>Multiply-adds done in fp32: all of them for an fp32 layer, else Flagged * InnerLength.</summary>
    public long F32Macs => Precision == Precision.F32 ? Macs : Flagged * InnerLength;
    /// <summary>Largest predicted relative error kappa_phi * bound / |s| over the components kept at low precision
    /// (with the session's flag constant; 0 for an fp32 layer).</summary>
    public double MaxPredictedRelError { get; internal set; }

    internal void Reset() { Components = 0; Flagged = 0; NonFinite = 0; MaxPredictedRelError = 0; }
}

/// <summary>The last run's per-layer accounting (the object is reused: copy what you keep).</summary>
public sealed class RunReport
{
    internal RunReport(LayerReport[] layers) { Layers = layers; }

    public IReadOnlyList<LayerReport> Layers { get; }
    /// <summary>Samples in the last run.</summary>
    public int Batch { get; internal set; }

    public long Macs { get { long s = 0; foreach (var l in Layers) s += l.Macs; return s; } }
    public long F32Macs { get { long s = 0; foreach (var l in Layers) s += l.F32Macs; return s; } }
    public long Components { get { long s = 0; foreach (var l in Layers) s += l.Components; return s; } }
    public long F32Components { get { long s = 0; foreach (var l in Layers) s += l.Precision == Precision.F32 ? l.Components : l.Flagged; return s; } }
    /// <summary>Share of multiply-adds done in fp32 (recomputed components weighted by their length, plus fp32 layers).</summary>
    public double RecomputeFraction => Macs == 0 ? 0 : (double)F32Macs / Macs;
    /// <summary>Share of components done in fp32 (unweighted).</summary>
    public double RecomputeComponentFraction => Components == 0 ? 0 : (double)F32Components / Components;
}
