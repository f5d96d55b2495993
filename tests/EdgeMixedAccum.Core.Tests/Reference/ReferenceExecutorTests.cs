using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Reference;

namespace EdgeMixedAccum.Tests.Reference;

/// <summary>The executor over whole graphs: wiring, shapes, normalisation, dtypes and errors.</summary>
public class ReferenceExecutorTests
{
    private static string GesturePath => Path.Combine(TestPaths.Fixtures, "gesture", "gesture-mlp.ema");

    /// <summary>The bundled MLP against a forward pass written out here in fp64 from the stored tensors.</summary>
    [Fact]
    public void GestureMlpMatchesHandWrittenForwardPass()
    {
        var model = EmaReader.Read(GesturePath);
        var x = NpyFile.Read(Path.Combine(TestPaths.Fixtures, "gesture", "gesture-x.npy"));
        int n = x.Shape[0], f = x.Shape[1];
        var data = x.ToFloat32();
        var y64 = ReferenceExecutor.Run<double>(model, (data, x.Shape))[0];
        var y32 = ReferenceExecutor.Run<float>(model, (data, x.Shape))[0];
        Assert.Equal(new[] { n, 4 }, y64.Shape);

        var norm = model.Metadata.Normalization!;
        var g = model.Graph;
        var layers = g.Nodes.Cast<DenseNode>().ToArray();
        for (int s = 0; s < n; s++)
        {
            double[] h = data.AsSpan(s * f, f).ToArray().Select(v => ((double)v - norm.Mean[0]) / norm.Std[0]).ToArray();
            foreach (var layer in layers)
            {
                var w = g.Constant(layer.Weight).AsFloat32();
                var b = g.Constant(layer.Bias).AsFloat32();
                int m = b.Length, k = h.Length;
                var next = new double[m];
                for (int i = 0; i < m; i++)
                {
                    double acc = b[i];
                    for (int j = 0; j < k; j++) acc += w[i * k + j] * h[j];
                    next[i] = layer.Activation.Kind == ActivationKind.Relu ? Math.Max(0, acc) : acc;
                }
                h = next;
            }
            for (int c = 0; c < 4; c++)
            {
                // fp64 differs from this only by summation order and the input normalisation, which the
                // executor does in fp32 (x rounded once): a few 1e-7 relative, not 1e-12.
                Assert.True(Math.Abs(y64.Data[s * 4 + c] - h[c]) <= 1e-5 * (1 + Math.Abs(h[c])), $"sample {s} class {c}: {y64.Data[s * 4 + c]} vs {h[c]}");
                Assert.True(Math.Abs(y32.Data[s * 4 + c] - h[c]) <= 1e-4 * (1 + Math.Abs(h[c])), $"fp32 sample {s} class {c}: {y32.Data[s * 4 + c]} vs {h[c]}");
            }
        }
    }

    [Fact]
    public void ConvPoolFlattenDenseSoftmaxPipelineMatchesOpByOpComposition()
    {
        var rng = new Random(7);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 2, 6, 6);
        var cw = TensorData.FromFloat32("cw", [3, 2, 3, 3], R(54));
        var cb = TensorData.FromFloat32("cb", [3], R(3));
        int c = b.Conv(x, cw, cb, pads: [1, 1, 1, 1], activation: Activation.Relu);
        int p = b.MaxPool(c, [2, 2]);
        int fl = b.Flatten(p);
        int r = b.Reshape(fl, [0, -1]);
        var dw = TensorData.FromFloat32("dw", [5, 27], R(135));
        int d = b.Dense(r, dw, null, Activation.Tanh);
        int s = b.Softmax(d);
        b.Output(s);
        b.Graph.Validate();

        var input = RefTensor<double>.FromFloat([2, 2, 6, 6], R(144));
        var got = ReferenceExecutor.Run(b.Graph, [input])[0];

        var conv = ReferenceOps<double>.Conv(input, RefTensor<double>.FromFloat(cw.Shape, cw.AsFloat32()), RefTensor<double>.FromFloat(cb.Shape, cb.AsFloat32()),
            (ConvNode)b.Graph.Nodes[0], Activation.Relu, [2, 3, 6, 6]);
        var pool = ReferenceOps<double>.Pool(conv, (PoolNode)b.Graph.Nodes[1], [2, 3, 3, 3]);
        var dense = ReferenceOps<double>.Dense(new RefTensor<double>([2, 27], pool.Data), RefTensor<double>.FromFloat(dw.Shape, dw.AsFloat32()), null, Activation.Tanh, [2, 5]);
        var want = ReferenceOps<double>.Softmax(dense, -1);
        Assert.Equal(want.Shape, got.Shape);
        Assert.Equal(want.Data, got.Data);
        for (int i = 0; i < 2; i++) Assert.Equal(1.0, got.Data.Skip(i * 5).Take(5).Sum(), 12);
    }

    [Fact]
    public void QuantisedWeightsAreDequantisedPerRow()
    {
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 3);
        var w = TensorData.FromInt8("w", [2, 3], [1, -2, 127, -127, 0, 5], [0.5f, 0.25f]);
        b.Output(b.Dense(x, w, plan: new LayerPlan(Precision.I8, Tau: 1)));
        var y = ReferenceExecutor.Run(b.Graph, [RefTensor<double>.FromFloat([1, 3], [1f, 2f, 3f])])[0];
        Assert.Equal(new[] { 0.5 * (1 - 4 + 381), 0.25 * (-127 + 0 + 15) }, y.Data);
    }

    [Fact]
    public void Float16WeightsAreWidened()
    {
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 2);
        var w = TensorData.FromFloat16("w", [1, 2], [(Half)0.1f, (Half)3f]);
        b.Output(b.Dense(x, w, plan: new LayerPlan(Precision.F16Acc, Tau: 1)));
        var y = ReferenceExecutor.Run(b.Graph, [RefTensor<double>.FromFloat([1, 2], [1f, 1f])])[0];
        Assert.Equal((double)(Half)0.1f + 3.0, y.Data[0]);
    }

    [Fact]
    public void WrongInputShapeIsAClearError()
    {
        var model = EmaReader.Read(GesturePath);
        var e = Assert.Throws<EmaException>(() => ReferenceExecutor.Run<float>(model, (new float[95], [1, 95])));
        Assert.Contains("accel", e.Message);
        Assert.Contains("[N, 96]", e.Message);
        Assert.Contains("[1, 95]", e.Message);
        Assert.Throws<EmaException>(() => ReferenceExecutor.Run<float>(model));
    }

    [Fact]
    public void NaNInputPropagatesToTheOutputsItTouches()
    {
        var model = EmaReader.Read(GesturePath);
        var x = new float[2 * 96];
        x[5] = float.NaN;
        var y = ReferenceExecutor.Run<float>(model, (x, [2, 96]))[0];
        Assert.Contains(y.Data.Take(4), float.IsNaN);
        Assert.All(y.Data.Skip(4), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void ConcatAndBroadcastAddThroughTheGraph()
    {
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 2, 3);
        int bias = b.Constant(TensorData.FromFloat32("bias", [3], [10f, 20f, 30f]));
        int a = b.Add(x, bias);
        int c = b.Concat(1, [x, a]);
        int act = b.Act(c, Activation.LeakyRelu(0.5f));
        b.Output(act);
        b.Graph.Validate();
        var y = ReferenceExecutor.Run(b.Graph, [RefTensor<double>.FromFloat([1, 2, 3], [-1, -2, -3, 4, 5, 6])])[0];
        Assert.Equal(new[] { 1, 4, 3 }, y.Shape);
        Assert.Equal(new[] { -0.5, -1, -1.5, 4, 5, 6, 9, 18, 27, 14, 25, 36 }, y.Data);
    }
}
