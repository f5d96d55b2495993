using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Tests.Onnx;

public class ActivationBatchNormImportTests
{
    private static double Bn(double z, int c, float[] scale, float[] beta, float[] mean, float[] var, double eps) =>
        scale[c] * (z - mean[c]) / Math.Sqrt(var[c] + eps) + beta[c];

    [Fact]
    public void Conv_then_batchnorm_folds_and_matches_conv_then_bn()
    {
        const int c = 3, m = 4, h = 5, w = 5;
        var wt = T.Rand(m * c * 9, 1); var b = T.Rand(m, 2);
        var scale = T.RandPositive(m, 3, 0.5, 2); var beta = T.Rand(m, 4); var mean = T.Rand(m, 5); var var = T.RandPositive(m, 6, 0.1, 3);
        var ob = new OnnxBuilder();
        ob.Input("x", "N", c, h, w);
        ob.Init("W", [m, c, 3, 3], wt); ob.Init("B", [m], b);
        ob.Init("s", [m], scale); ob.Init("bb", [m], beta); ob.Init("mu", [m], mean); ob.Init("v", [m], var);
        ob.Node("Conv", ["x", "W", "B"], "h", attrs: ("pads", new[] { 1, 1, 1, 1 }));
        ob.Node("BatchNormalization", ["h", "s", "bb", "mu", "v"], "bn", attrs: ("epsilon", 1e-3f));
        ob.Node("Relu", ["bn"], "y");
        ob.Output("y");
        var r = ob.Import();
        var conv = Assert.IsType<ConvNode>(Assert.Single(r.Graph.Nodes));
        Assert.Equal(Activation.Relu, conv.Activation);
        var x = T.Rand(2 * c * h * w, 7);
        var z = ConvPoolImportTests.ConvExpected(x, 2, c, h, w, wt, m, 3, 3, b, 1, 1, 1, 1, 1, 1, 1, 1, 1, out _, out _);
        var exp = z.Select((v, i) => Math.Max(0, Bn(v, i / (h * w) % m, scale, beta, mean, var, 1e-3f))).ToArray();
        T.Close(exp, T.Run(r.Graph, x, [2, c, h, w]).Y, 1e-5);
    }

    [Fact]
    public void Gemm_then_batchnorm_folds()
    {
        const int k = 5, m = 3;
        var wt = T.Rand(m * k, 1);
        var scale = T.RandPositive(m, 3, 0.5, 2); var beta = T.Rand(m, 4); var mean = T.Rand(m, 5); var var = T.RandPositive(m, 6, 0.1, 3);
        var ob = new OnnxBuilder(opset: 15);
        ob.Input("x", "N", k);
        ob.Init("W", [m, k], wt);
        ob.Init("s", [m], scale); ob.Init("bb", [m], beta); ob.Init("mu", [m], mean); ob.Init("v", [m], var);
        ob.Node("Gemm", ["x", "W"], "h", attrs: ("transB", 1));
        ob.Node("BatchNormalization", ["h", "s", "bb", "mu", "v"], "y");
        ob.Output("y");
        var r = ob.Import();
        Assert.IsType<DenseNode>(Assert.Single(r.Graph.Nodes));
        var x = T.Rand(3 * k, 8);
        var exp = new double[3 * m];
        for (int i = 0; i < 3; i++)
            for (int o = 0; o < m; o++)
            {
                double s = 0;
                for (int t = 0; t < k; t++) s += (double)wt[o * k + t] * x[i * k + t];
                exp[i * m + o] = Bn(s, o, scale, beta, mean, var, 1e-5f);
            }
        T.Close(exp, T.Run(r.Graph, x, [3, k]).Y);
    }

    [Fact]
    public void Batchnorm_without_a_preceding_layer_is_refused()
    {
        const int c = 2;
        var ob = new OnnxBuilder();
        ob.Input("x", "N", c, 4, 4);
        foreach (var p in new[] { "s", "bb", "mu", "v" }) ob.Init(p, [c], T.RandPositive(c, 1, 0.5, 1));
        ob.Node("Relu", ["x"], "a");
        ob.Node("BatchNormalization", ["a", "s", "bb", "mu", "v"], "y", "bn0");
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("bn0", e.Message);
        Assert.Contains("no preceding Conv/Gemm/MatMul", e.Message);
    }

    [Fact]
    public void Batchnorm_after_a_layer_with_another_reader_is_refused()
    {
        const int c = 2;
        var ob = new OnnxBuilder();
        ob.Input("x", "N", c, 4, 4);
        ob.Init("W", [c, c, 1, 1], T.Rand(c * c, 1));
        foreach (var p in new[] { "s", "bb", "mu", "v" }) ob.Init(p, [c], T.RandPositive(c, 1, 0.5, 1));
        ob.Node("Conv", ["x", "W"], "h");
        ob.Node("BatchNormalization", ["h", "s", "bb", "mu", "v"], "n", "bn1");
        ob.Node("Add", ["h", "n"], "y");
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("bn1", e.Message);
        Assert.Contains("other readers", e.Message);
    }

    public static TheoryData<string, int> ActivationCases => new()
    {
        { "Relu", 13 }, { "Tanh", 13 }, { "Sigmoid", 13 }, { "LeakyRelu", 13 }, { "ClipRelu6", 13 }, { "ClipRelu6", 9 },
        { "ClipMinOnly", 13 }, { "Gelu", 20 },
    };

    [Theory]
    [MemberData(nameof(ActivationCases))]
    public void Activations_fuse_into_the_dense_layer(string kind, int opset)
    {
        const int k = 4, m = 5;
        var wt = T.Rand(m * k, 1, 3);
        var ob = new OnnxBuilder(opset);
        ob.Input("x", "N", k);
        ob.Init("W", [k, m], wt);
        ob.Node("MatMul", ["x", "W"], "h");
        Func<double, double> phi;
        switch (kind)
        {
            case "LeakyRelu": ob.Node("LeakyRelu", ["h"], "y", attrs: ("alpha", 0.2f)); phi = t => t >= 0 ? t : 0.2f * t; break;
            case "ClipRelu6" when opset < 11: ob.Node("Clip", ["h"], "y", attrs: [("min", 0f), ("max", 6f)]); phi = t => Math.Clamp(t, 0, 6); break;
            case "ClipRelu6": ob.Init("lo", 0f); ob.Init("hi", 6f); ob.Node("Clip", ["h", "lo", "hi"], "y"); phi = t => Math.Clamp(t, 0, 6); break;
            case "ClipMinOnly": ob.Init("lo", -0.5f); ob.Node("Clip", ["h", "lo"], "y"); phi = t => Math.Max(t, -0.5f); break;
            case "Gelu": ob.Node("Gelu", ["h"], "y"); phi = t => 0.5 * t * (1 + SpecialFunctions.Erf(t / Math.Sqrt(2))); break;
            case "Tanh": ob.Node("Tanh", ["h"], "y"); phi = Math.Tanh; break;
            case "Sigmoid": ob.Node("Sigmoid", ["h"], "y"); phi = t => 1 / (1 + Math.Exp(-t)); break;
            default: ob.Node("Relu", ["h"], "y"); phi = t => Math.Max(0, t); break;
        }
        ob.Output("y");
        var r = ob.Import();
        var dense = Assert.IsType<DenseNode>(Assert.Single(r.Graph.Nodes));
        if (kind.StartsWith("ClipRelu6")) Assert.Equal(Activation.Relu6, dense.Activation);
        var x = T.Rand(3 * k, 2, 2);
        var exp = new double[3 * m];
        for (int i = 0; i < 3; i++)
            for (int o = 0; o < m; o++)
            {
                double s = 0;
                for (int t = 0; t < k; t++) s += (double)wt[t * m + o] * x[i * k + t];
                exp[i * m + o] = phi(s);
            }
        T.Close(exp, T.Run(r.Graph, x, [3, k]).Y, 1e-6);
    }

    [Fact]
    public void Gelu_tanh_approximation_is_refused()
    {
        var ob = new OnnxBuilder(20);
        ob.Input("x", "N", 3);
        ob.Node("Gelu", ["x"], "y", "g0", ("approximate", "tanh"));
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("g0", e.Message);
        Assert.Contains("tanh", e.Message);
    }

    [Fact]
    public void Activation_not_fused_when_layer_output_has_two_readers()
    {
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 3);
        ob.Init("W", [3, 3], T.Rand(9, 1));
        ob.Node("MatMul", ["x", "W"], "h");
        ob.Node("Relu", ["h"], "a");
        ob.Node("Add", ["h", "a"], "y");
        ob.Output("y");
        var r = ob.Import();
        Assert.Equal(3, r.Graph.Nodes.Count);
        Assert.Equal(Activation.Identity, Assert.IsType<DenseNode>(r.Graph.Nodes[0]).Activation);
        Assert.Equal(Activation.Relu, Assert.IsType<ActivationNode>(r.Graph.Nodes[1]).Activation);
    }

    /// <summary>The PyTorch GELU pattern in its several spellings: div or mul by 1/sqrt2, operand orders and
    /// product associations.</summary>
    [Theory]
    [InlineData("div", "x*t,*0.5")]
    [InlineData("mul", "x*t,*0.5")]
    [InlineData("mulr", "t*x,0.5*")]
    [InlineData("div", "0.5*t,*x")]
    [InlineData("div", "t*0.5,x*")]
    [InlineData("mul", "x*0.5,*t")]
    [InlineData("div", "0.5*x,t*")]
    public void Erf_gelu_pattern_fuses_into_the_layer(string pre, string product)
    {
        const int k = 4, m = 3;
        var wt = T.Rand(m * k, 1, 2);
        var ob = new OnnxBuilder(13);
        ob.Input("x", "N", k);
        ob.Init("W", [k, m], wt);
        ob.Node("MatMul", ["x", "W"], "h");
        switch (pre)
        {
            case "div": ob.ConstFloat("c_sqrt2", 1.4142135f); ob.Node("Div", ["h", "c_sqrt2"], "d"); break;
            case "mul": ob.ConstFloat("c_isq", 0.70710677f); ob.Node("Mul", ["h", "c_isq"], "d"); break;
            default: ob.ConstFloat("c_isq", 0.70710677f); ob.Node("Mul", ["c_isq", "h"], "d"); break;
        }
        ob.Node("Erf", ["d"], "e");
        ob.ConstFloat("one", 1f);
        ob.Node("Add", ["one", "e"], "t");
        ob.ConstFloat("half", 0.5f);
        // product spec: "a*b,c" means m1 = a*b then m2 = m1 * c (or "*c" / "c*" for order).
        var parts = product.Split(',');
        string Name(string s) => s switch { "x" => "h", "t" => "t", "0.5" => "half", _ => throw new ArgumentException(s) };
        var f = parts[0].Split('*');
        ob.Node("Mul", [Name(f[0]), Name(f[1])], "m1");
        string rest = parts[1];
        if (rest.StartsWith('*')) ob.Node("Mul", ["m1", Name(rest[1..])], "y");
        else ob.Node("Mul", [Name(rest[..^1]), "m1"], "y");
        ob.Output("y");
        var r = ob.Import();
        var dense = Assert.IsType<DenseNode>(Assert.Single(r.Graph.Nodes));
        Assert.Equal(Activation.Gelu, dense.Activation);
        var x = T.Rand(4 * k, 2, 2);
        var exp = new double[4 * m];
        for (int i = 0; i < 4; i++)
            for (int o = 0; o < m; o++)
            {
                double s = 0;
                for (int t = 0; t < k; t++) s += (double)wt[t * m + o] * x[i * k + t];
                exp[i * m + o] = 0.5 * s * (1 + SpecialFunctions.Erf(s / Math.Sqrt(2)));
            }
        T.Close(exp, T.Run(r.Graph, x, [4, k]).Y, 1e-6);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Mul_x_sigmoid_x_becomes_silu(bool sigmoidFirst)
    {
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 2, 3, 3);
        ob.Node("Sigmoid", ["x"], "s");
        ob.Node("Mul", sigmoidFirst ? ["s", "x"] : ["x", "s"], "y");
        ob.Output("y");
        var r = ob.Import();
        var act = Assert.IsType<ActivationNode>(Assert.Single(r.Graph.Nodes));
        Assert.Equal(Activation.Silu, act.Activation);
        var x = T.Rand(18, 3, 4);
        T.Close(x.Select(v => v / (1 + Math.Exp(-(double)v))).ToArray(), T.Run(r.Graph, x, [1, 2, 3, 3]).Y, 1e-6);
    }

    [Fact]
    public void Sigmoid_with_another_reader_is_not_silu()
    {
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 3);
        ob.Node("Sigmoid", ["x"], "s");
        ob.Node("Mul", ["x", "s"], "y", "mul0");
        ob.Output("y");
        ob.Output("s");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("mul0", e.Message);
        Assert.Contains("Mul on runtime tensors", e.Message);
    }
}
