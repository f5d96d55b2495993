using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Reference;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>One layer's audit: low-pass components checked, and those whose actual error exceeded the bound.</summary>
public sealed record LayerAudit(string Name, long Checked, long Violations, double MaxErrorToBound);

/// <summary>
/// Checks the rigorous bound of every low-pass component of the last run (a session built with
/// <see cref="SessionOptions.Trace"/>): the layer is evaluated again in fp64 on the same fp32 input with the
/// same stored weights, and |s_hat - s| must not exceed the bound. A violation is a bug in the error model
/// or a kernel. Non-finite low results (always flagged) are not counted; fp32 layers have no low pass.
/// </summary>
public static class BoundAudit
{
    public static LayerAudit[] Check(Session session)
    {
        if (!session.Options.Trace) throw new InvalidOperationException("BoundAudit needs a session created with Trace = true");
        var g = session.Model.Graph;
        int batch = session.LastReport.Batch;
        var result = new LayerAudit[session.Layers.Count];
        for (int li = 0; li < session.Layers.Count; li++)
        {
            var l = session.Layers[li];
            if (l.Precision == Precision.F32 || !l.Tracing) { result[li] = new(l.Node.Name, 0, 0, 0); continue; }
            var node = l.Node;
            var x = session.Value(node.X);
            int samples = x.Length / Math.Max(1, l.InSample);
            var xShape = Shapes.Resolve(g.Values[node.X].Shape, batch);
            var yShape = Shapes.Resolve(g.Values[node.Output].Shape, batch);
            var xt = RefTensor<double>.FromFloat(xShape, x);
            var wt = RefTensor<double>.FromFloat(g.Tensors[g.Values[node.Weight].Constant].Shape, l.Weights.W32);
            var bt = RefTensor<double>.FromFloat([l.Weights.M], l.Weights.Bias);
            var s = node switch
            {
                ConvNode c => ReferenceOps<double>.Conv(xt, wt, bt, c, Activation.Identity, yShape),
                _ => ReferenceOps<double>.Dense(xt, wt, bt, Activation.Identity, yShape),
            };
            long n = (long)samples * l.OutSample, checkedCount = 0, bad = 0;
            double worst = 0;
            var low = l.TraceLow; var bound = l.TraceBound;
            for (long i = 0; i < n; i++)
            {
                float sh = low[(int)i];
                if (!float.IsFinite(sh)) continue;
                double err = Math.Abs(sh - s.Data[i]);
                double b = bound[(int)i];
                checkedCount++;
                if (err > b) bad++;
                if (b > 0) worst = Math.Max(worst, err / b);
                else if (err > 0) worst = double.PositiveInfinity;
            }
            result[li] = new(node.Name, checkedCount, bad, worst);
        }
        return result;
    }
}
