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

    /// <summary>Components done in fp32: all of an fp32 layer, else the flagged ones.</summary>
    public long F32Components => Precision == Precision.F32 ? Components : Flagged;
    /// <summary>Share of the layer's multiply-adds done in fp32.</summary>
    public double RecomputeFraction => Macs == 0 ? 0 : (double)F32Macs / Macs;

    internal void Reset() { Components = 0; Flagged = 0; NonFinite = 0; MaxPredictedRelError = 0; }

    internal void Add(LayerReport r)
    {
        Components += r.Components; Flagged += r.Flagged; NonFinite += r.NonFinite;
        MaxPredictedRelError = Math.Max(MaxPredictedRelError, r.MaxPredictedRelError);
    }
}

/// <summary>The last run's per-layer accounting (the object is reused: copy what you keep).</summary>
public sealed class RunReport
{
    internal RunReport(LayerReport[] layers) { _layers = layers; }

    // The array itself, so the sums below index it: a foreach over the IReadOnlyList would box an enumerator on
    // every call, and callers read these after every run on the hot path (the sensor loop, the C ABI).
    private readonly LayerReport[] _layers;

    /// <summary>An empty report with the layers of <paramref name="shape"/>, to sum many runs into with <see cref="Add"/>
    /// (a session reuses its own report object, so callers that run a dataset in pieces add each run here).</summary>
    public static RunReport Totals(RunReport shape) =>
        new(shape.Layers.Select(l => new LayerReport(l.Name, l.Op, l.Precision, l.InnerLength)).ToArray());

    /// <summary>Adds another run of the same session: counts and samples sum, the predicted error takes the max.</summary>
    public void Add(RunReport r)
    {
        if (r.Layers.Count != Layers.Count) throw new ArgumentException($"a report of {r.Layers.Count} layers cannot be added to one of {Layers.Count}", nameof(r));
        for (int l = 0; l < Layers.Count; l++) Layers[l].Add(r.Layers[l]);
        Batch += r.Batch;
    }

    public IReadOnlyList<LayerReport> Layers => _layers;
    /// <summary>Samples in the last run.</summary>
    public int Batch { get; internal set; }

    public long Macs { get { long s = 0; foreach (var l in _layers) s += l.Macs; return s; } }
    public long F32Macs { get { long s = 0; foreach (var l in _layers) s += l.F32Macs; return s; } }
    public long Components { get { long s = 0; foreach (var l in _layers) s += l.Components; return s; } }
    public long F32Components { get { long s = 0; foreach (var l in _layers) s += l.F32Components; return s; } }
    /// <summary>Largest predicted relative error kept at low precision over the layers.</summary>
    public double MaxPredictedRelError { get { double m = 0; foreach (var l in _layers) m = Math.Max(m, l.MaxPredictedRelError); return m; } }
    /// <summary>Share of multiply-adds done in fp32 (recomputed components weighted by their length, plus fp32 layers).</summary>
    public double RecomputeFraction => Macs == 0 ? 0 : (double)F32Macs / Macs;
    /// <summary>Share of components done in fp32 (unweighted).</summary>
    public double RecomputeComponentFraction => Components == 0 ? 0 : (double)F32Components / Components;
}
