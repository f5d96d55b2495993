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
        var totals = RunReport.Totals(session.LastReport);
        int nl = totals.Layers.Count;
        var chk = new long[nl]; var viol = new long[nl]; var worst = new double[nl];
        var sw = new Stopwatch();
        for (int i = 0; i < batch; i++)
        {
            sw.Restart();
            session.Run(x.AsSpan(i * inLen, inLen), y.AsSpan(i * outLen, outLen));
            sw.Stop();
            lat[i] = sw.Elapsed.TotalMicroseconds;
            totals.Add(session.LastReport);
            if (audit)
            {
                var a = BoundAudit.Check(session);
                for (int l = 0; l < a.Length; l++)
                {
                    chk[l] += a[l].Checked; viol[l] += a[l].Violations; worst[l] = Math.Max(worst[l], a[l].MaxErrorToBound);
                }
            }
        }
        var per = new LayerEvaluation[nl];
        for (int l = 0; l < nl; l++)
        {
            var t = totals.Layers[l];
            per[l] = new(t.Name, t.Op.ToString(), PrecisionName(t.Precision), t.InnerLength,
                t.Components, t.Flagged, t.NonFinite, t.Macs, t.F32Macs, t.MaxPredictedRelError, chk[l], viol[l], worst[l]);
        }

        double sum64 = 0, max64 = 0, sum32 = 0, max32 = 0;
        int agree = 0, correct = 0;
        for (int i = 0; i < batch; i++)
        {
            var yi = y.AsSpan(i * outLen, outLen);
            var ri = f32Outputs.AsSpan(i * outLen, outLen);
            double e64 = OutputMetrics.RelativeError<float, double>(yi, f64Outputs.AsSpan(i * outLen, outLen));
            double e32 = OutputMetrics.RelativeError<float, float>(yi, ri);
            sum64 += e64; max64 = Math.Max(max64, e64);
            sum32 += e32; max32 = Math.Max(max32, e32);
            int a = OutputMetrics.ArgMax<float>(yi), b = OutputMetrics.ArgMax<float>(ri);
            if (a == b) agree++;
            if (labels is not null && labels[i] == a) correct++;
        }
        Array.Sort(lat);
        return new EvaluationResult(modeName, batch, labels is null || batch == 0 ? null : (double)correct / batch,
            batch == 0 ? 1 : (double)agree / batch, totals.RecomputeFraction, totals.RecomputeComponentFraction,
            batch == 0 ? 0 : sum64 / batch, max64, batch == 0 ? 0 : sum32 / batch, max32, viol.Sum(),
            batch == 0 ? 0 : lat[batch / 2], per, session.Kernels.Chosen);
    }

    public static string PrecisionName(Precision p) => p switch { Precision.I8 => "i8", Precision.F16Acc => "f16acc", _ => "f32" };
}
