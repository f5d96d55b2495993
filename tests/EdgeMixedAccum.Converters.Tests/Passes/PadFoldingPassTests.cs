using EdgeMixedAccum.Converters.Tests.Onnx;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Reference;

namespace EdgeMixedAccum.Converters.Tests.Passes;

/// <summary>Pad + AveragePool (PyTorch's count_include_pad=True export) and Pad + Conv fold into one op; the
/// result is checked against the op run without pads on an explicitly padded input.</summary>
public class PadFoldingPassTests
{
    private static float[] Random(int n, int seed) { var r = new Random(seed); return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray(); }

    /// <summary>x [1, 2, 5, 6] zero-padded by (top 1, left 2, bottom 0, right 1) to [1, 2, 6, 9].</summary>
    private static RefTensor<double> Padded(float[] x)
    {
        var y = new RefTensor<double>([1, 2, 6, 9]);
        for (int c = 0; c < 2; c++)
            for (int h = 0; h < 5; h++)
                for (int w = 0; w < 6; w++)
                    y.Data[(c * 6 + h + 1) * 9 + w + 2] = x[(c * 5 + h) * 6 + w];
        return y;
    }

    private static OnnxBuilder PadModel(int opset, out string padded)
    {
        var b = new OnnxBuilder(opset);
        b.Input("x", "n", 2, 5, 6);
        padded = opset >= 11
            ? b.Node("Pad", ["x", b.InitInt64("pads", 0, 0, 1, 2, 0, 0, 0, 1)], name: "pad")
            : b.Node("Pad", ["x"], name: "pad", attrs: [("pads", new long[] { 0, 0, 1, 2, 0, 0, 0, 1 }), ("mode", "constant")]);
        return b;
    }

    [Theory]
    [InlineData(13)]
    [InlineData(10)]
    public void PadThenAveragePoolIsOneAveragePoolCountingPads(int opset)
    {
        var b = PadModel(opset, out var p);
        b.Output(b.Node("AveragePool", [p], "y", "pool", ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 })));
        var r = b.Import();
        var pool = Assert.IsType<PoolNode>(Assert.Single(r.Graph.Nodes));
        Assert.True(pool.CountIncludePad);
        Assert.Equal([1, 2, 0, 1], pool.Pads);

        var x = Random(60, 1);
        var got = ReferenceExecutor.Run(r.Graph, [RefTensor<double>.FromFloat([1, 2, 5, 6], x)])[0];
        var plain = new PoolNode(max: false) { Name = "p", Kernel = [3, 3], Strides = [2, 2], Pads = [0, 0, 0, 0], Dilations = [1, 1] };
        var want = ReferenceOps<double>.Pool(Padded(x), plain, plain.InferShape([[1, 2, 6, 9]]));
        Assert.Equal(want.Shape, got.Shape);
        for (int i = 0; i < want.Data.Length; i++) Assert.Equal(want.Data[i], got.Data[i], 12);
    }

    [Fact]
    public void PadThenConvAddsThePads()
    {
        var b = PadModel(13, out var p);
        var w = b.Init("w", [3, 2, 2, 3], Random(36, 2));
        b.Output(b.Node("Conv", [p, w], "y", "conv", ("pads", new long[] { 1, 0, 0, 1 })));
        var r = b.Import();
        var conv = Assert.IsType<ConvNode>(Assert.Single(r.Graph.Nodes));
        Assert.Equal([2, 2, 0, 2], conv.Pads);

        var x = Random(60, 3);
        var got = ReferenceExecutor.Run(r.Graph, [RefTensor<double>.FromFloat([1, 2, 5, 6], x)])[0];
        var plain = new ConvNode { Name = "c", Strides = [1, 1], Pads = [1, 0, 0, 1], Dilations = [1, 1] };
        var wt = RefTensor<double>.FromFloat([3, 2, 2, 3], Random(36, 2));
        var want = ReferenceOps<double>.Conv(Padded(x), wt, null, plain, Activation.Identity, plain.InferShape([[1, 2, 6, 9], [3, 2, 2, 3]]));
        Assert.Equal(want.Shape, got.Shape);
        for (int i = 0; i < want.Data.Length; i++) Assert.Equal(want.Data[i], got.Data[i], 12);
    }

    [Fact]
    public void PadBeforeMaxPoolIsRefused()
    {
        var b = PadModel(13, out var p);
        b.Output(b.Node("MaxPool", [p], "y", "mp", ("kernel_shape", new long[] { 2, 2 })));
        var e = Assert.Throws<EmaException>(() => b.Import());
        Assert.Contains("pad", e.Message);
        Assert.Contains("MaxPool", e.Message);
    }

    [Fact]
    public void NonZeroPaddingValueIsRefused()
    {
        var b = new OnnxBuilder(13);
        b.Input("x", "n", 2, 5, 6);
        var p = b.Node("Pad", ["x", b.InitInt64("pads", 0, 0, 1, 1, 0, 0, 1, 1), b.Init("v", 1f)], name: "pad");
        b.Output(b.Node("AveragePool", [p], "y", "pool", ("kernel_shape", new long[] { 2, 2 })));
        var e = Assert.Throws<EmaException>(() => b.Import());
        Assert.Contains("only zero", e.Message);
    }

    [Fact]
    public void CeilModeWindowStartingInThePaddingIsRefused()
    {
        // Width 6 padded by 0 left and 2 right = 8; kernel 3, stride 2, ceil: windows start at 0, 2, 4, 6.
        // The window at 6 starts in the right padding: AveragePool's own pads could not reproduce it.
        var b = new OnnxBuilder(13);
        b.Input("x", "n", 1, 1, 6);
        var p = b.Node("Pad", ["x", b.InitInt64("pads", 0, 0, 0, 0, 0, 0, 0, 2)], name: "pad");
        b.Output(b.Node("AveragePool", [p], "y", "pool", ("kernel_shape", new long[] { 1, 3 }), ("strides", new long[] { 1, 2 }), ("ceil_mode", 1L)));
        var e = Assert.Throws<EmaException>(() => b.Import());
        Assert.Contains("ceil-mode", e.Message);
    }
}
