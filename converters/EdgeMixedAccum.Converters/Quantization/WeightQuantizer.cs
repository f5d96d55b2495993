using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Quantization;

/// <summary>How the converter stores layer weights (`ema convert --weights`).</summary>
public enum WeightFormat { Fp32, Fp16, Int8 }

/// <summary>What quantising one layer's weights did.</summary>
/// <param name="MaxAbsError">max_ij |w_ij - stored_ij|.</param>
/// <param name="MaxRelError">max_i (max_j |w_ij - stored_ij| / max_j |w_ij|): the error relative to each row's range.</param>
public sealed record LayerQuantization(string Layer, int[] Shape, long Parameters, WeightFormat Format, double MaxAbsError, double MaxRelError);

/// <summary>
/// Replaces the fp32 weights of every Dense and Conv layer by int8 (symmetric, one scale per output
/// channel: scale_i = max_j |w_ij| / 127, q = round-to-nearest-even(w / scale_i) in [-127, 127]) or fp16
/// (round to nearest even; a weight beyond fp16's range is an error, never a silent infinity), and sets the
/// layer's precision to match. Biases stay fp32. Row statistics are recomputed from the stored values.
/// </summary>
public static class WeightQuantizer
{
    public static IReadOnlyList<LayerQuantization> Quantize(ModelGraph g, WeightFormat format, LayerPlan? template = null)
    {
        var report = new List<LayerQuantization>();
        var done = new Dictionary<int, LayerQuantization>();
        var heads = g.HeadLayers();
        foreach (var layer in g.Nodes.OfType<LayerNode>())
        {
            int tensorIndex = g.Values[layer.Weight].Constant;
            if (!done.TryGetValue(tensorIndex, out var q))
            {
                var w = g.Tensors[tensorIndex];
                if (w.DType != TensorDType.Float32) throw new EmaException($"layer '{layer.Name}': weights are already {w.DType}");
                var values = w.AsFloat32();
                (g.Tensors[tensorIndex], q) = format switch
                {
                    WeightFormat.Int8 => ToInt8(layer.Name, w, values),
                    WeightFormat.Fp16 => ToFp16(layer.Name, w, values),
                    _ => (w, new LayerQuantization(layer.Name, w.Shape, w.ElementCount, WeightFormat.Fp32, 0, 0)),
                };
                done[tensorIndex] = q;
            }
            // The head's error lands on the outputs directly and it costs a fraction of a percent of the
            // multiply-adds: by default it always runs in fp32 (PAPER.md, lessons from the numpy model).
            layer.Plan = template is null && heads.Contains(layer)
                ? LayerPlan.Fp32
                : (template ?? DefaultPlan(format)) with { Precision = PrecisionOf(format) };
            report.Add(q with { Layer = layer.Name });
        }
        return report;
    }

    public static Precision PrecisionOf(WeightFormat f) => f switch
    {
        WeightFormat.Int8 => Precision.I8,
        WeightFormat.Fp16 => Precision.F16Acc,
        _ => Precision.F32,
    };

    /// <summary>
    /// Until calibration picks tau per layer (`--target-agreement`), low-precision layers flag a component
    /// whose predicted relative error exceeds the precision's default tau (<see cref="LayerPlan.DefaultTau"/>),
    /// estimate (|W||x|)_i with the fused sum (exact for f16acc; int8 bounds use row norms whatever the
    /// estimator), and guard ReLU sign flips whose bound reaches |s|.
    /// </summary>
    public static LayerPlan DefaultPlan(WeightFormat f) => f == WeightFormat.Fp32
        ? LayerPlan.Fp32
        : new LayerPlan(PrecisionOf(f), Tau: LayerPlan.DefaultTau(PrecisionOf(f)), Estimator: EstimatorKind.Fused, TauNegative: 1f);

    private static (TensorData, LayerQuantization) ToInt8(string layer, TensorData w, ReadOnlySpan<float> values)
    {
        int rows = w.Shape.Length == 0 ? 1 : w.Shape[0];
        int len = rows == 0 ? 0 : values.Length / rows;
        var q = new sbyte[values.Length];
        var scales = new float[rows];
        double maxAbs = 0, maxRel = 0;
        for (int i = 0; i < rows; i++)
        {
            var row = values.Slice(i * len, len);
            float max = 0;
            foreach (float v in row)
            {
                if (!float.IsFinite(v)) throw new EmaException($"layer '{layer}': weight row {i} holds {v}");
                max = Math.Max(max, Math.Abs(v));
            }
            float scale = max / 127f;
            scales[i] = scale;
            double rowErr = 0;
            for (int j = 0; j < len; j++)
            {
                int qi = scale == 0 ? 0 : (int)Math.Clamp(MathF.Round(row[j] / scale, MidpointRounding.ToEven), -127, 127);
                q[i * len + j] = (sbyte)qi;
                rowErr = Math.Max(rowErr, Math.Abs(row[j] - (double)qi * scale));
            }
            maxAbs = Math.Max(maxAbs, rowErr);
            if (max > 0) maxRel = Math.Max(maxRel, rowErr / max);
        }
        var t = TensorData.FromInt8(w.Name, w.Shape, q, scales);
        return (t, new LayerQuantization(layer, w.Shape, w.ElementCount, WeightFormat.Int8, maxAbs, maxRel));
    }

    private static (TensorData, LayerQuantization) ToFp16(string layer, TensorData w, ReadOnlySpan<float> values)
    {
        var h = new Half[values.Length];
        int rows = w.Shape.Length == 0 ? 1 : w.Shape[0];
        int len = rows == 0 ? 0 : values.Length / rows;
        double maxAbs = 0, maxRel = 0;
        for (int i = 0; i < rows; i++)
        {
            double rowErr = 0, rowMax = 0;
            for (int j = 0; j < len; j++)
            {
                float v = values[i * len + j];
                var r = (Half)v;
                if (Half.IsInfinity(r) || Half.IsNaN(r))
                    throw new EmaException($"layer '{layer}': weight [{i}, {j}] = {v} overflows fp16 (max 65504); convert with --weights int8 or fp32");
                h[i * len + j] = r;
                rowErr = Math.Max(rowErr, Math.Abs(v - (double)r));
                rowMax = Math.Max(rowMax, Math.Abs(v));
            }
            maxAbs = Math.Max(maxAbs, rowErr);
            if (rowMax > 0) maxRel = Math.Max(maxRel, rowErr / rowMax);
        }
        var t = TensorData.FromFloat16(w.Name, w.Shape, h);
        return (t, new LayerQuantization(layer, w.Shape, w.ElementCount, WeightFormat.Fp16, maxAbs, maxRel));
    }
}
