using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Tests.Onnx;

public class ConvPoolImportTests
{
    /// <summary>Naive 2D convolution (1D as height 1) with explicit pads [top, left, bottom, right].</summary>
    internal static double[] ConvExpected(float[] x, int n, int c, int h, int w, float[] wt, int m, int kh, int kw, float[]? bias,
        int sh, int sw, int pt, int pl, int pb, int pr, int dh, int dw, int groups, out int oh, out int ow)
    {
        oh = (h + pt + pb - (dh * (kh - 1) + 1)) / sh + 1;
        ow = (w + pl + pr - (dw * (kw - 1) + 1)) / sw + 1;
        int cg = c / groups, mg = m / groups;
        var y = new double[n * m * oh * ow];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < m; o++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        double s = bias?[o] ?? 0;
                        for (int ci = 0; ci < cg; ci++)
                            for (int a = 0; a < kh; a++)
                                for (int e = 0; e < kw; e++)
                                {
                                    int yy = i * sh - pt + a * dh, xx = j * sw - pl + e * dw;
                                    if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                                    int cin = (o / mg) * cg + ci;
                                    s += (double)wt[((o * cg + ci) * kh + a) * kw + e] * x[((b * c + cin) * h + yy) * w + xx];
                                }
                        y[((b * m + o) * oh + i) * ow + j] = s;
                    }
        return y;
    }

    [Theory]
    [InlineData(1, 1, 0, 0, 1, 1)]
    [InlineData(2, 1, 1, 2, 1, 1)]
    [InlineData(1, 2, 1, 0, 2, 1)]
    [InlineData(2, 2, 1, 1, 1, 2)]
    public void Conv2d_with_strides_pads_dilations_groups(int stride, int dil, int padBegin, int padEnd, int groups, int seed)
    {
        const int n = 2, c = 4, h = 7, w = 6, m = 6, k = 3;
        var x = T.Rand(n * c * h * w, seed);
        var wt = T.Rand(m * (c / groups) * k * k, seed + 10);
        var bias = T.Rand(m, seed + 20);
        var ob = new OnnxBuilder();
        ob.Input("x", "N", c, h, w);
        ob.Init("W", [m, c / groups, k, k], wt);
        ob.Init("B", [m], bias);
        ob.Node("Conv", ["x", "W", "B"], "y", "conv", ("strides", new[] { stride, stride }), ("dilations", new[] { dil, dil }),
            ("pads", new[] { padBegin, padEnd, padEnd, padBegin }), ("group", groups), ("kernel_shape", new[] { k, k }));
        ob.Output("y");
        var r = ob.Import();
        var conv = Assert.IsType<ConvNode>(Assert.Single(r.Graph.Nodes));
        Assert.Equal(groups, conv.Groups);
        var exp = ConvExpected(x, n, c, h, w, wt, m, k, k, bias, stride, stride, padBegin, padEnd, padEnd, padBegin, dil, dil, groups, out int oh, out int ow);
        var (y, shape) = T.Run(r.Graph, x, [n, c, h, w]);
        Assert.Equal([n, m, oh, ow], shape);
        T.Close(exp, y);
    }

    [Theory]
    [InlineData("SAME_UPPER", 1)]
    [InlineData("SAME_UPPER", 2)]
    [InlineData("SAME_LOWER", 2)]
    [InlineData("VALID", 2)]
    [InlineData("NOTSET", 1)]
    public void Conv_auto_pad_resolves_to_explicit_pads(string autoPad, int stride)
    {
        const int c = 2, h = 6, w = 5, m = 3, kh = 4, kw = 3;
        var x = T.Rand(c * h * w, 1);
        var wt = T.Rand(m * c * kh * kw, 2);
        var ob = new OnnxBuilder();
        ob.Input("x", 1, c, h, w);
        ob.Init("W", [m, c, kh, kw], wt);
        ob.Node("Conv", ["x", "W"], "y", attrs: [("auto_pad", autoPad), ("strides", new[] { stride, stride })]);
        ob.Output("y");
        var r = ob.Import();
        // SAME: output = ceil(in / stride); total pad split with the odd one at the end (UPPER) or start (LOWER).
        int P(int inDim, int k, bool begin)
        {
            if (autoPad is "VALID" or "NOTSET") return 0;
            int o = (inDim + stride - 1) / stride;
            int total = Math.Max(0, (o - 1) * stride + k - inDim);
            int small = total / 2, big = total - small;
            return autoPad == "SAME_UPPER" ? (begin ? small : big) : (begin ? big : small);
        }
        var exp = ConvExpected(x, 1, c, h, w, wt, m, kh, kw, null, stride, stride, P(h, kh, true), P(w, kw, true), P(h, kh, false), P(w, kw, false), 1, 1, 1, out int oh, out int ow);
        if (autoPad.StartsWith("SAME")) { Assert.Equal((h + stride - 1) / stride, oh); Assert.Equal((w + stride - 1) / stride, ow); }
        var (y, shape) = T.Run(r.Graph, x, [1, c, h, w]);
        Assert.Equal([1, m, oh, ow], shape);
        T.Close(exp, y);
    }

    [Fact]
    public void Conv1d_imports_and_matches()
    {
        const int c = 3, l = 9, m = 2, k = 3;
        var x = T.Rand(2 * c * l, 3);
        var wt = T.Rand(m * c * k, 4);
        var ob = new OnnxBuilder();
        ob.Input("x", "N", c, l);
        ob.Init("W", [m, c, k], wt);
        ob.Node("Conv", ["x", "W"], "y", attrs: [("strides", new[] { 2 }), ("pads", new[] { 1, 1 })]);
        ob.Output("y");
        var r = ob.Import();
        var exp = ConvExpected(x, 2, c, 1, l, wt, m, 1, k, null, 1, 2, 0, 1, 0, 1, 1, 1, 1, out _, out int ow);
        var (y, shape) = T.Run(r.Graph, x, [2, c, l]);
        Assert.Equal([2, m, ow], shape);
        T.Close(exp, y);
    }

    [Fact]
    public void Conv_without_bias_plus_channel_constant_takes_it_as_bias()
    {
        const int c = 2, m = 3;
        var wt = T.Rand(m * c * 9, 1); var b = T.Rand(m, 2);
        var ob = new OnnxBuilder();
        ob.Input("x", "N", c, 5, 5);
        ob.Init("W", [m, c, 3, 3], wt);
        ob.Init("b", [m, 1, 1], b);
        ob.Node("Conv", ["x", "W"], "h");
        ob.Node("Add", ["h", "b"], "y");
        ob.Output("y");
        var r = ob.Import();
        Assert.IsType<ConvNode>(Assert.Single(r.Graph.Nodes));
        var x = T.Rand(c * 25, 3);
        var exp = ConvExpected(x, 1, c, 5, 5, wt, m, 3, 3, b, 1, 1, 0, 0, 0, 0, 1, 1, 1, out _, out _);
        T.Close(exp, T.Run(r.Graph, x, [1, c, 5, 5]).Y);
    }

    [Fact]
    public void Conv_then_per_channel_mul_sub_div_folds_into_the_layer()
    {
        // tf2onnx spells an unfused BatchNorm as Mul + Add with [C, 1, 1] constants; Sub and Div fold the same way.
        const int c = 2, m = 3;
        var wt = T.Rand(m * c * 9, 1); var b = T.Rand(m, 2);
        var sc = T.RandPositive(m, 3, 0.5, 2); var sh = T.Rand(m, 4); var dv = T.RandPositive(m, 5, 1, 3);
        var ob = new OnnxBuilder();
        ob.Input("x", "N", c, 5, 5);
        ob.Init("W", [m, c, 3, 3], wt); ob.Init("B", [m], b);
        ob.Init("sc", [m, 1, 1], sc); ob.Init("sh", [1, m, 1, 1], sh); ob.Init("dv", [m, 1, 1], dv);
        ob.Node("Conv", ["x", "W", "B"], "h");
        ob.Node("Mul", ["sc", "h"], "h1");
        ob.Node("Sub", ["h1", "sh"], "h2");
        ob.Node("Div", ["h2", "dv"], "h3");
        ob.Node("Relu", ["h3"], "y");
        ob.Output("y");
        var r = ob.Import();
        var conv = Assert.IsType<ConvNode>(Assert.Single(r.Graph.Nodes));
        Assert.Equal(Activation.Relu, conv.Activation);
        var x = T.Rand(2 * c * 25, 3);
        var z = ConvExpected(x, 2, c, 5, 5, wt, m, 3, 3, b, 1, 1, 0, 0, 0, 0, 1, 1, 1, out int oh, out int ow);
        int hw = oh * ow;
        var exp = z.Select((v, i) => { int ch = i / hw % m; return Math.Max(0, (v * sc[ch] - sh[ch]) / dv[ch]); }).ToArray();
        T.Close(exp, T.Run(r.Graph, x, [2, c, 5, 5]).Y);
    }

    /// <summary>Naive pooling, ONNX semantics; avg divides by valid elements or the (pad-clipped) window.</summary>
    private static double[] PoolExpected(float[] x, int nc, int h, int w, int k, int s, int p, bool max, bool includePad, out int oh, out int ow)
    {
        oh = (h + 2 * p - k) / s + 1; ow = (w + 2 * p - k) / s + 1;
        var y = new double[nc * oh * ow];
        for (int q = 0; q < nc; q++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    double best = double.NegativeInfinity, sum = 0; int cnt = 0;
                    for (int a = 0; a < k; a++)
                        for (int e = 0; e < k; e++)
                        {
                            int yy = i * s - p + a, xx = j * s - p + e;
                            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                            double v = x[(q * h + yy) * w + xx];
                            best = Math.Max(best, v); sum += v; cnt++;
                        }
                    y[(q * oh + i) * ow + j] = max ? best : sum / (includePad ? k * k : cnt);
                }
        return y;
    }

    [Theory]
    [InlineData("MaxPool", 0)]
    [InlineData("AveragePool", 0)]
    [InlineData("AveragePool", 1)]
    public void Pools_match_naive(string op, int includePad)
    {
        const int c = 3, h = 7, w = 7;
        var x = T.Rand(2 * c * h * w, 5);
        var ob = new OnnxBuilder(opset: 13);
        ob.Input("x", "N", c, h, w);
        ob.Node(op, ["x"], "y", attrs: op == "MaxPool"
            ? [("kernel_shape", new[] { 3, 3 }), ("strides", new[] { 2, 2 }), ("pads", new[] { 1, 1, 1, 1 })]
            : [("kernel_shape", new[] { 3, 3 }), ("strides", new[] { 2, 2 }), ("pads", new[] { 1, 1, 1, 1 }), ("count_include_pad", includePad)]);
        ob.Output("y");
        var r = ob.Import();
        var exp = PoolExpected(x, 2 * c, h, w, 3, 2, 1, op == "MaxPool", includePad == 1, out int oh, out int ow);
        var (y, shape) = T.Run(r.Graph, x, [2, c, h, w]);
        Assert.Equal([2, c, oh, ow], shape);
        T.Close(exp, y);
    }

    [Fact]
    public void Global_average_pool_then_flatten_then_gemm()
    {
        const int c = 4;
        var wt = T.Rand(c * 2, 1);
        var ob = new OnnxBuilder();
        ob.Input("x", "N", c, 3, 3);
        ob.Node("GlobalAveragePool", ["x"], "p");
        ob.Node("Flatten", ["p"], "f", attrs: ("axis", 1));
        ob.Init("W", [2, c], wt);
        ob.Node("Gemm", ["f", "W"], "y", attrs: ("transB", 1));
        ob.Output("y");
        var r = ob.Import();
        var x = T.Rand(2 * c * 9, 2);
        var exp = new double[4];
        for (int b = 0; b < 2; b++)
            for (int o = 0; o < 2; o++)
                for (int ch = 0; ch < c; ch++)
                {
                    double mean = 0;
                    for (int s = 0; s < 9; s++) mean += x[(b * c + ch) * 9 + s];
                    exp[b * 2 + o] += wt[o * c + ch] * (mean / 9);
                }
        T.Close(exp, T.Run(r.Graph, x, [2, c, 3, 3]).Y);
    }
}
