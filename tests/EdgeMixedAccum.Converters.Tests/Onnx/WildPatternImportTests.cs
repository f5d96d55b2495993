using EdgeMixedAccum.Converters.Onnx;
using EdgeMixedAccum.Converters.Passes;
using EdgeMixedAccum.Graph;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeMixedAccum.Converters.Tests.Onnx;

/// <summary>
/// Issue 10 patterns on small graphs built here, each checked against ONNX Runtime on the same bytes: LayerNorm
/// (op and decomposed pattern, variants of operand order, axes as attribute or input, several trailing dims,
/// broadcast scale), clamps as Max/Min, runtime Transpose, unused opset domains; and the refusals.
/// </summary>
public class WildPatternImportTests
{
    private static float[] Ort(OnnxBuilder ob, float[] x, int[] shape)
    {
        using var o = new SessionOptions { IntraOpNumThreads = 1 };
        using var s = new InferenceSession(ob.Bytes(), o);
        using var r = s.Run([NamedOnnxValue.CreateFromTensor(s.InputMetadata.Keys.First(), new DenseTensor<float>(x, shape))]);
        return r.First().AsEnumerable<float>().ToArray();
    }

    private static void MatchesOrt(OnnxBuilder ob, int[] shape, int seed, double offset = 0)
    {
        var x = T.Rand((int)Shapes.Elements(shape, "x"), seed, 3).Select(v => (float)(v + offset)).ToArray();
        var ort = Ort(ob, x, shape);
        var (ours, _) = T.Run(ob.Import().Graph, x, shape);
        double scale = ort.Max(v => Math.Abs((double)v));
        for (int i = 0; i < ort.Length; i++)
            Assert.True(Math.Abs(ours[i] - ort[i]) <= 1e-5 * scale, $"element {i}: {ours[i]} vs ORT {ort[i]}");
    }

    /// <summary>Gemm [N, 6] -> decomposed LayerNorm over the last <paramref name="dims"/> dims (after a reshape).</summary>
    private static OnnxBuilder Decomposed(int opset, bool gammaFirst, bool withBeta, bool axesInput, int dims = 1)
    {
        var ob = new OnnxBuilder(opset);
        ob.Input("x", "N", 6);
        ob.Init("w", [6, 6], T.Rand(36, 1));
        string h = ob.Node("Gemm", ["x", "w"], "h", "fc", ("transB", 1));
        int[] shape = dims == 1 ? [0, 6] : [0, 2, 3];
        if (dims != 1) h = ob.Node("Reshape", [h, ob.InitInt64("shape", shape.Select(v => (long)v).ToArray())], "h3");
        long[] axes = dims == 1 ? [-1] : [-2, -1];
        string Mean(string v, string name) => axesInput
            ? ob.Node("ReduceMean", [v, ob.InitInt64(name + "_axes", axes)], name + "_out", name)
            : ob.Node("ReduceMean", [v], name + "_out", name, ("axes", axes));
        string m = Mean(h, "mean");
        string d = ob.Node("Sub", [h, m], "d");
        string p = ob.Node("Pow", [d, ob.Init("two", 2f)], "p");
        string v2 = Mean(p, "var");
        string e = ob.Node("Add", [v2, ob.Init("eps", 1e-5f)], "e");
        string sd = ob.Node("Sqrt", [e], "sd");
        string n = ob.Node("Div", [d, sd], "n");
        int[] norm = dims == 1 ? [6] : [2, 3];
        ob.Init("gamma", norm, T.RandPositive(6, 2, 0.5, 1.5));
        string g = ob.Node("Mul", gammaFirst ? ["gamma", n] : [n, "gamma"], withBeta ? "g" : "y");
        if (withBeta) { ob.Init("beta", norm, T.Rand(6, 3)); ob.Node("Add", ["beta", g], "y"); }
        ob.Output("y");
        return ob;
    }

    [Theory]
    [InlineData(13, false, true, false, 1)]
    [InlineData(14, true, true, false, 1)]
    [InlineData(13, true, false, false, 1)]
    [InlineData(18, false, true, true, 1)]   // ReduceMean axes as an input from opset 18
    [InlineData(13, false, true, false, 2)]  // normalised over the last two dims
    public void DecomposedLayerNormIsOneNodeAndMatchesOrt(int opset, bool gammaFirst, bool withBeta, bool axesInput, int dims)
    {
        var ob = Decomposed(opset, gammaFirst, withBeta, axesInput, dims);
        var r = ob.Import();
        var ln = Assert.Single(r.Graph.Nodes.OfType<LayerNormNode>());
        Assert.Equal(1, ln.FirstAxis(dims + 1)); // [N, 6] or [N, 2, 3]: from dim 1 on
        Assert.DoesNotContain(r.Graph.Nodes, n => n is AddNode or ActivationNode);
        MatchesOrt(ob, [5, 6], 11, offset: 20); // a large mean: the pattern's cancellation is real
    }

    [Theory]
    [InlineData(-1, new[] { 4 })]
    [InlineData(1, new[] { 3, 4 })]
    [InlineData(1, new[] { 4 })]  // scale broadcast over the normalised [3, 4]
    public void LayerNormalizationOpMatchesOrt(int axis, int[] scaleShape)
    {
        var ob = new OnnxBuilder(17);
        ob.Input("x", "N", 3, 4);
        int n = scaleShape.Aggregate(1, (a, b) => a * b);
        ob.Init("s", scaleShape, T.RandPositive(n, 4, 0.5, 2));
        ob.Init("b", scaleShape, T.Rand(n, 5));
        ob.Node("LayerNormalization", ["x", "s", "b"], "y", "ln", ("axis", axis), ("epsilon", 1e-3f));
        ob.Output("y");
        var ln = Assert.Single(ob.Import().Graph.Nodes.OfType<LayerNormNode>());
        Assert.Equal(1e-3f, ln.Epsilon);
        MatchesOrt(ob, [2, 3, 4], 6);
    }

    [Fact]
    public void LayerNormalizationWhoseMeanOutputIsReadIsRefused()
    {
        var ob = new OnnxBuilder(17);
        ob.Input("x", "N", 4);
        ob.Init("s", [4], T.RandPositive(4, 4, 0.5, 2));
        ob.NodeMulti("LayerNormalization", ["x", "s"], ["y", "mean"], "ln");
        ob.Node("Add", ["y", "mean"], "z");
        ob.Output("z");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("LayerNormalization node 'ln'", e.Message);
        Assert.Contains("Mean", e.Message);
    }

    [Fact]
    public void ReduceMeanOutsideThePatternIsRefusedNamingIt()
    {
        var ob = new OnnxBuilder(13);
        ob.Input("x", "N", 4, 5);
        ob.Node("ReduceMean", ["x"], "y", "pool_time", ("axes", new[] { 1 }));
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("ReduceMean node 'pool_time'", e.Message);
        Assert.Contains("LayerNorm pattern", e.Message);
    }

    [Fact]
    public void ClampsBecomeClipsAndFoldWhereTheyCan()
    {
        var ob = new OnnxBuilder(13);
        ob.Input("x", "N", 2, 6, 5);
        ob.Init("w", [4, 2, 3, 3], T.Rand(72, 7));
        ob.Init("w2", [4, 4, 1, 1], T.Rand(16, 8));
        string c1 = ob.Node("Conv", ["x", "w"], "c1", "conv1", ("pads", new[] { 1, 0, 1, 2 }), ("kernel_shape", new[] { 3, 3 }));
        // ReLU6 spelled Max(x, 0), Min(6, x) (constant first): one Clip(0, 6) fused into conv1.
        string a = ob.Node("Max", [c1, ob.Init("zero", 0f)], "a");
        string b = ob.Node("Min", [ob.Init("six", 6f), a], "b");
        string c2 = ob.Node("Conv", [b, "w2"], "c2", "conv2", ("auto_pad", "SAME_UPPER"), ("kernel_shape", new[] { 1, 1 }));
        // LeakyRelu then a clamp: both fused into conv2 as one LeakyReluClip.
        string l = ob.Node("LeakyRelu", [c2], "l", "leaky", ("alpha", 0.2f));
        string m = ob.Node("Max", [l, ob.Init("lo", -0.3f)], "m");
        ob.Node("Min", [m, ob.Init("hi", 1.5f)], "y");
        ob.Output("y");
        var g = ob.Import().Graph;
        var convs = g.Nodes.OfType<ConvNode>().ToList();
        Assert.Equal(Activation.Clip(0, 6), convs[0].Activation);
        Assert.Equal(new[] { 1, 0, 1, 2 }, convs[0].Pads);
        Assert.Equal(Activation.LeakyReluClip(0.2f, -0.3f, 1.5f), convs[1].Activation);
        Assert.Empty(g.Nodes.OfType<ActivationNode>());
        MatchesOrt(ob, [3, 2, 6, 5], 9);
    }

    [Fact]
    public void PerChannelMaxIsRefusedClearly()
    {
        var ob = new OnnxBuilder(13);
        ob.Input("x", "N", 3);
        ob.Init("c", [3], [0f, 1f, 2f]);
        ob.Node("Max", ["x", "c"], "y", "chan_max");
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("Max node 'chan_max'", e.Message);
        Assert.Contains("scalar constant", e.Message);
    }

    [Fact]
    public void NhwcTransposesAndKerasFlattenMatchOrt()
    {
        var ob = new OnnxBuilder(13);
        ob.Input("x", "unk__3", 5, 4, 1);
        string t = ob.Node("Transpose", ["x"], "t", "to_nchw", ("perm", new[] { 0, 3, 1, 2 }));
        ob.Init("w", [3, 1, 2, 2], T.Rand(12, 10));
        string c = ob.Node("Conv", [t, "w"], "c", "conv", ("kernel_shape", new[] { 2, 2 }), ("strides", new[] { 2, 1 }), ("auto_pad", "SAME_LOWER"));
        string back = ob.Node("Transpose", [c], "back", "to_nhwc", ("perm", new[] { 0, 2, 3, 1 }));
        string f = ob.Node("Reshape", [back, ob.InitInt64("flat", -1, 36)], "f");
        ob.Init("d", [36, 2], T.Rand(72, 11));
        ob.Node("MatMul", [f, "d"], "y");
        ob.Output("y");
        var g = ob.Import().Graph;
        Assert.Equal(2, g.Nodes.OfType<TransposeNode>().Count());
        MatchesOrt(ob, [3, 5, 4, 1], 12);
    }

    [Fact]
    public void FixedBatchExportWithBakedReshapesRunsAnyBatchLikeRowByRowOrt()
    {
        // tf2onnx of a Keras model saved with batch_size=1: [1, 5, 4, 1], Transpose, Conv, Reshape [1, 36], MatMul.
        var ob = new OnnxBuilder(13);
        ob.Input("x", 1, 5, 4, 1);
        string t = ob.Node("Transpose", ["x"], "t", "to_nchw", ("perm", new[] { 0, 3, 1, 2 }));
        ob.Init("w", [3, 1, 2, 2], T.Rand(12, 20));
        string c = ob.Node("Conv", [t, "w"], "c", "conv", ("kernel_shape", new[] { 2, 2 }), ("strides", new[] { 2, 1 }), ("auto_pad", "SAME_UPPER"));
        string f = ob.Node("Reshape", [c, ob.InitInt64("flat", 1, 36)], "f", "flatten");
        ob.Init("d", [36, 2], T.Rand(72, 21));
        ob.Node("MatMul", [f, "d"], "y");
        ob.Output("y");
        var r = ob.Import();
        Assert.Equal(BatchMode.MadeSymbolic, r.Batch);
        const int rows = 4;
        var x = T.Rand(rows * 20, 22, 3);
        var (ours, shape) = T.Run(r.Graph, x, [rows, 5, 4, 1]);
        Assert.Equal(new[] { rows, 2 }, shape);
        for (int i = 0; i < rows; i++)
        {
            var ort = Ort(ob, x.AsSpan(i * 20, 20).ToArray(), [1, 5, 4, 1]);
            for (int k = 0; k < 2; k++) Assert.True(Math.Abs(ours[i * 2 + k] - ort[k]) <= 1e-5 * ort.Max(v => Math.Abs((double)v)), $"row {i} output {k}");
        }
    }

    [Fact]
    public void AnUnusedOpsetDomainIsAcceptedAndAUsedOneIsRefused()
    {
        var ob = new OnnxBuilder(13);
        ob.Model.OpsetImport.Add(new EdgeMixedAccum.Converters.Onnx.Proto.OperatorSetIdProto { Domain = "ai.onnx.ml", Version = 2 });
        ob.Input("x", "N", 3);
        ob.Node("Relu", ["x"], "y");
        ob.Output("y");
        Assert.Single(ob.Import().Graph.Nodes);

        var bad = new OnnxBuilder(13);
        bad.Model.OpsetImport.Add(new EdgeMixedAccum.Converters.Onnx.Proto.OperatorSetIdProto { Domain = "ai.onnx.ml", Version = 2 });
        bad.Input("x", "N", 3);
        bad.Node("Binarizer", ["x"], "y", "bin");
        bad.Graph.Node[0].Domain = "ai.onnx.ml";
        bad.Output("y");
        var e = Assert.Throws<EmaException>(() => bad.Import());
        Assert.Contains("ai.onnx.ml.Binarizer", e.Message);
        Assert.Contains("'bin'", e.Message);
    }
}
