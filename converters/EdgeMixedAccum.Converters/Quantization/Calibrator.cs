using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Reference;

namespace EdgeMixedAccum.Converters.Quantization;

/// <summary>How a layer's int8 input range is chosen from calibration data.</summary>
public enum RangeMethod { Max, Percentile }

public sealed record CalibrationOptions
{
    public RangeMethod Method { get; init; } = RangeMethod.Max;
    /// <summary>Percentile of |x| used as the range with <see cref="RangeMethod.Percentile"/>.</summary>
    public double Percentile { get; init; } = 99.99;
    /// <summary>Inputs per executor call (bounds memory on large calibration sets).</summary>
    public int Chunk { get; init; } = 64;
    /// <summary>|x| samples kept per tensor for the percentile (reservoir sampling, seeded).</summary>
    public int ReservoirSize { get; init; } = 1 << 16;
}

/// <summary>The observed range of one layer's input and the static int8 scale it gives.</summary>
/// <param name="Range">max |x| or the chosen percentile of |x|; values beyond it clip.</param>
/// <param name="Scale">Range / 127: step_x of the layer's int8 input.</param>
public sealed record LayerRange(string Layer, string Input, float MaxAbs, float Range, float Scale);

/// <summary>
/// Runs the fp32 reference executor over calibration inputs and records, for the input of every Dense
/// and Conv layer, max |x| and a percentile of |x|: the per-tensor ranges behind static int8 activation
/// scales. Run it on the fp32 graph, before weights are quantised.
/// </summary>
public static class Calibrator
{
    public static IReadOnlyList<LayerRange> Calibrate(EmaModel model, float[] x, int[] shape, CalibrationOptions? options = null, IProgress<double>? progress = null)
    {
        options ??= new CalibrationOptions();
        var g = model.Graph;
        if (g.Inputs.Count != 1) throw new EmaException($"calibration feeds one input; the model has {g.Inputs.Count}");
        ReferenceExecutor.CheckInputShape(g.Values[g.Inputs[0]], shape);
        var layers = g.Nodes.OfType<LayerNode>().ToArray();
        var watched = layers.Select(l => l.X).ToHashSet();
        var stats = watched.ToDictionary(v => v, _ => new RangeStats(options.ReservoirSize));
        int batch = shape[0];
        int per = batch == 0 ? 0 : x.Length / batch;
        if (batch == 0) throw new EmaException("calibration data holds no inputs");
        for (int start = 0; start < batch; start += options.Chunk)
        {
            int n = Math.Min(options.Chunk, batch - start);
            var chunk = x.AsSpan(start * per, n * per).ToArray();
            var s = (int[])shape.Clone();
            s[0] = n;
            model.Metadata.Normalization?.Apply(chunk, s);
            foreach (float v in chunk)
                if (!float.IsFinite(v)) throw new EmaException($"calibration input {start + Array.IndexOf(chunk, v) / per} holds {v}");
            if (stats.TryGetValue(g.Inputs[0], out var inStats)) inStats.Add(chunk);
            ReferenceExecutor.Run(g, [new RefTensor<float>(s, chunk)], (node, t) =>
            {
                if (stats.TryGetValue(node.Output, out var st)) st.Add(t.Data);
            });
            progress?.Report((double)(start + n) / batch);
        }
        return layers.Select(l =>
        {
            var st = stats[l.X];
            float range = options.Method == RangeMethod.Max ? st.Max : Math.Min(st.Max, st.Quantile(options.Percentile / 100));
            return new LayerRange(l.Name, g.Values[l.X].Name, st.Max, range, range / 127f);
        }).ToArray();
    }

    /// <summary>Stores each calibrated scale in the plan of the i8 layers (others need none).</summary>
    public static void Apply(ModelGraph g, IReadOnlyList<LayerRange> ranges)
    {
        var byName = ranges.ToDictionary(r => r.Layer);
        foreach (var layer in g.Nodes.OfType<LayerNode>())
            if (layer.Plan.Precision == Precision.I8 && byName.TryGetValue(layer.Name, out var r))
                layer.Plan = layer.Plan with { InputScale = r.Scale };
    }

    /// <summary>Exact max |x| and a seeded reservoir sample of |x| for quantiles.</summary>
    private sealed class RangeStats(int capacity)
    {
        private readonly float[] _reservoir = new float[capacity];
        private readonly Random _rng = new(12345);
        private long _seen;
        public float Max { get; private set; }

        public void Add(ReadOnlySpan<float> values)
        {
            foreach (float v in values)
            {
                float a = Math.Abs(v);
                if (a > Max) Max = a;
                if (_seen < _reservoir.Length) _reservoir[_seen] = a;
                else
                {
                    long k = _rng.NextInt64(_seen + 1);
                    if (k < _reservoir.Length) _reservoir[k] = a;
                }
                _seen++;
            }
        }

        public float Quantile(double q)
        {
            int n = (int)Math.Min(_seen, _reservoir.Length);
            if (n == 0) return 0;
            var sorted = _reservoir.AsSpan(0, n).ToArray();
            Array.Sort(sorted);
            return sorted[(int)Math.Clamp(Math.Ceiling(q * n) - 1, 0, n - 1)];
        }
    }
}
