using System.Diagnostics;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Reference;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>One layer over a whole evaluation.</summary>
public sealed record LayerEvaluation(string Name, string Op, string Precision, int InnerLength, long Components, long Flagged,
    long NonFinite, long Macs, long F32Macs, double MaxPredictedRelError, long Checked, long BoundViolations, double MaxErrorToBound);

/// <summary>The figures `ema eval` and `ema demo` print (docs/engine.md defines each).</summary>
public sealed record EvaluationResult(string Mode, int Samples, double? Top1, double Agreement, double RecomputeFraction,
    double RecomputeComponentFraction, double MeanRelError, double MaxRelError, double MeanRelErrorVsF32, double MaxRelErrorVsF32,
    long BoundViolations, double MedianLatencyUs, IReadOnlyList<LayerEvaluation> Layers, IReadOnlyDictionary<string, string> Kernels);

/// <summary>
/// Runs a session sample by sample over a dataset and compares it with the runtime's fp32 path and the fp64
/// reference executor (the same stored weights evaluated exactly, so the error measured is accumulation and
/// activation quantisation, not weight quantisation). Relative error of a sample is the norm-wise
/// ||y - y_ref||_2 / ||y_ref||_2 of its output vector.
/// </summary>
public static class Evaluator
{
    /// <summary>fp64 reference outputs of the first graph output for raw inputs x ([batch, ...] flattened).</summary>
    public static double[] Reference(EmaModel model, float[] x, int batch)
    {
        var shape = Shapes.Resolve(model.Graph.Values[model.Graph.Inputs[0]].Shape, batch);
        var outs = new List<double>();
        int per = batch == 0 ? 0 : x.Length / batch;
        const int chunk = 128;
        for (int s = 0; s < batch; s += chunk)
        {
            int n = Math.Min(chunk, batch - s);
            var sh = (int[])shape.Clone();
            if (sh.Length > 0) sh[0] = n;
            outs.AddRange(ReferenceExecutor.Run<double>(model, (x.AsSpan(s * per, n * per).ToArray(), sh))[0].Data);
        }
        return outs.ToArray();
    }

    /// <summary>The session's outputs (batch runs of one sample) plus per-sample latency and the aggregated report.</summary>
    public static EvaluationResult Evaluate(Session session, string modeName, float[] x, int batch, long[]? labels,
        float[] f32Outputs, double[] f64Outputs, bool audit, float[]? outputs = null)
    {
        int inLen = session.InputLength, outLen = session.OutputLength;
        var y = outputs ?? new float[batch * outLen];
        var lat = new double[batch];
        var layers = session.LastReport.Layers;
        var comps = new long[layers.Count]; var flagged = new long[layers.Count]; var nonFinite = new long[layers.Count];
        var macs = new long[layers.Count]; var f32Macs = new long[layers.Count]; var maxPred = new double[layers.Count];
        var chk = new long[layers.Count]; var viol = new long[layers.Count]; var worst = new double[layers.Count];
        var sw = new Stopwatch();
        for (int i = 0; i < batch; i++)
        {
            sw.Restart();
            session.Run(x.AsSpan(i * inLen, inLen), y.AsSpan(i * outLen, outLen));
            sw.Stop();
            lat[i] = sw.Elapsed.TotalMicroseconds;
            for (int l = 0; l < layers.Count; l++)
            {
                var r = layers[l];
                comps[l] += r.Components; flagged[l] += r.Flagged; nonFinite[l] += r.NonFinite;
                macs[l] += r.Macs; f32Macs[l] += r.F32Macs; maxPred[l] = Math.Max(maxPred[l], r.MaxPredictedRelError);
            }
            if (audit)
            {
                var a = BoundAudit.Check(session);
                for (int l = 0; l < a.Length; l++)
                {
                    chk[l] += a[l].Checked; viol[l] += a[l].Violations; worst[l] = Math.Max(worst[l], a[l].MaxErrorToBound);
                }
            }
        }
        var per = new LayerEvaluation[layers.Count];
        for (int l = 0; l < layers.Count; l++)
            per[l] = new(layers[l].Name, layers[l].Op.ToString(), PrecisionName(layers[l].Precision), layers[l].InnerLength,
                comps[l], flagged[l], nonFinite[l], macs[l], f32Macs[l], maxPred[l], chk[l], viol[l], worst[l]);
        long totalMacs = macs.Sum(), totalF32 = f32Macs.Sum(), totalComps = comps.Sum();
        long f32Comps = 0;
        for (int l = 0; l < per.Length; l++) f32Comps += layers[l].Precision == Precision.F32 ? comps[l] : flagged[l];

        var (mean64, max64) = RelErrors(y, f64Outputs, batch, outLen);
        var f32AsDouble = Array.ConvertAll(f32Outputs, v => (double)v);
        var (mean32, max32) = RelErrors(y, f32AsDouble, batch, outLen);
        int agree = 0, correct = 0;
        for (int i = 0; i < batch; i++)
        {
            int a = ArgMax(y.AsSpan(i * outLen, outLen)), b = ArgMax(f32Outputs.AsSpan(i * outLen, outLen));
            if (a == b) agree++;
            if (labels is not null && labels[i] == a) correct++;
        }
        Array.Sort(lat);
        return new EvaluationResult(modeName, batch, labels is null || batch == 0 ? null : (double)correct / batch,
            batch == 0 ? 1 : (double)agree / batch,
            totalMacs == 0 ? 0 : (double)totalF32 / totalMacs, totalComps == 0 ? 0 : (double)f32Comps / totalComps,
            mean64, max64, mean32, max32, viol.Sum(), batch == 0 ? 0 : lat[batch / 2], per, session.Kernels.Chosen);
    }

    public static string PrecisionName(Precision p) => p switch { Precision.I8 => "i8", Precision.F16Acc => "f16acc", _ => "f32" };

    private static (double Mean, double Max) RelErrors(float[] y, double[] reference, int batch, int len)
    {
        double sum = 0, max = 0;
        for (int i = 0; i < batch; i++)
        {
            double num = 0, den = 0;
            for (int j = 0; j < len; j++)
            {
                double r = reference[i * len + j], d = y[i * len + j] - r;
                num += d * d; den += r * r;
            }
            double e = den == 0 ? (num == 0 ? 0 : double.PositiveInfinity) : Math.Sqrt(num / den);
            sum += e; max = Math.Max(max, e);
        }
        return (batch == 0 ? 0 : sum / batch, max);
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
