using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Tests.Onnx;

public class GemmMatMulImportTests
{
    /// <summary>alpha * A B' + beta * C by plain loops, A [m, k], B [k, n] or [n, k] (transB), C broadcast.</summary>
    private static double[] GemmExpected(float[] a, float[] b, float[]? c, int[]? cShape, int m, int k, int n, bool transB, double alpha, double beta)
    {
        var y = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int t = 0; t < k; t++) s += (double)a[i * k + t] * b[transB ? j * k + t : t * n + j];
                double cv = 0;
                if (c is not null)
                {
                    int ci = cShape!.Length == 0 || c.Length == 1 ? 0 : c.Length == n ? j : i * n + j;
                    cv = c[ci];
                }
                y[i * n + j] = alpha * s + beta * cv;
            }
        return y;
    }

    [Theory]
    [InlineData(false, 1.0, 1.0, "vector")]
    [InlineData(true, 1.0, 1.0, "vector")]
    [InlineData(true, 0.5, 2.0, "row")]
    [InlineData(false, -1.5, 0.25, "scalar")]
    [InlineData(true, 2.0, 0.0, "vector")]
    [InlineData(false, 0.75, 1.0, "none")]
    public void Gemm_with_constant_B_becomes_dense_with_alpha_beta_folded(bool transB, double alpha, double beta, string cKind)
    {
        const int m = 3, k = 5, n = 4;
        var a = T.Rand(m * k, 1);
        var bData = T.Rand(k * n, 2);
        var cData = cKind switch { "vector" => T.Rand(n, 3), "row" => T.Rand(n, 3), "scalar" => [0.7f], _ => null };
        int[]? cShape = cKind switch { "vector" => [n], "row" => [1, n], "scalar" => [], _ => null };
        var ob = new OnnxBuilder();
        ob.Input("x", "N", k);
        ob.Init("B", transB ? [n, k] : [k, n], bData);
        var inputs = new List<string> { "x", "B" };
        if (cData is not null) inputs.Add(ob.Init("C", cShape!, cData));
        ob.Node("Gemm", [.. inputs], "y", "fc", ("transB", transB ? 1 : 0), ("alpha", alpha), ("beta", beta));
        ob.Output("y");
        var r = ob.Import();

        var dense = Assert.IsType<DenseNode>(Assert.Single(r.Graph.Nodes));
        Assert.Equal("fc", dense.Name);
        Assert.Equal([Shapes.Batch, n], r.Outputs[0].Shape);
        var (y, shape) = T.Run(r.Graph, a, [m, k]);
        Assert.Equal([m, n], shape);
        T.Close(GemmExpected(a, bData, cData, cShape, m, k, n, transB, alpha, beta), y);
    }

    [Fact]
    public void Gemm_with_both_operands_constant_is_folded_exactly()
    {
        var a = T.Rand(6, 4); var b = T.Rand(6, 5); var c = T.Rand(3, 6);
        var ob = new OnnxBuilder();
        ob.Input("x", 3, 3);
        ob.Init("A", [2, 3], a); ob.Init("B", [2, 3], b); ob.Init("C", [3], c);
        ob.Node("Gemm", ["A", "B", "C"], "g", attrs: [("transA", 1), ("alpha", 2.0), ("beta", 0.5)]);
        ob.Node("Add", ["x", "g"], "y");
        ob.Output("y");
        var r = ob.Import();
        Assert.IsType<AddNode>(Assert.Single(r.Graph.Nodes));
        var aT = new float[6];
        for (int i = 0; i < 3; i++) for (int t = 0; t < 2; t++) aT[i * 2 + t] = a[t * 3 + i];
        var g = GemmExpected(aT, b, c, [3], 3, 2, 3, false, 2.0, 0.5);
        var x = T.Rand(9, 7);
        var (y, _) = T.Run(r.Graph, x, [3, 3]);
        T.Close(g.Select((v, i) => v + x[i]).ToArray(), y);
    }

    [Fact]
    public void Gemm_transA_on_runtime_input_is_refused()
    {
        var ob = new OnnxBuilder();
        ob.Input("x", 4, 3);
        ob.Init("B", [4, 2], T.Rand(8, 1));
        ob.Node("Gemm", ["x", "B"], "y", "fc1", ("transA", 1));
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("transA=1", e.Message);
        Assert.Contains("fc1", e.Message);
        Assert.Contains("transpose", e.Message);
    }

    [Fact]
    public void Gemm_with_runtime_C_and_beta_1_adds_it()
    {
        var bData = T.Rand(12, 2);
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 3);
        ob.Input("c", "N", 4);
        ob.Init("B", [3, 4], bData);
        ob.Node("Gemm", ["x", "B", "c"], "y");
        ob.Output("y");
        var r = ob.Import();
        Assert.Equal(1, T.Count<DenseNode>(r.Graph));
        Assert.Equal(1, T.Count<AddNode>(r.Graph));
        var x = T.Rand(6, 3); var c = T.Rand(8, 4);
        var y = T.RunAll(r.Graph, (x, [2, 3]), (c, [2, 4]))[0];
        T.Close(GemmExpected(x, bData, c, [2, 4], 2, 3, 4, false, 1, 1), y);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MatMul_plus_constant_bias_becomes_one_dense(bool biasFirst)
    {
        const int k = 6, n = 3;
        var w = T.Rand(k * n, 5); var bias = T.Rand(n, 6);
        var ob = new OnnxBuilder();
        ob.Input("x", "batch", k);
        ob.Init("W", [k, n], w);
        ob.Init("b", [n], bias);
        ob.Node("MatMul", ["x", "W"], "h");
        ob.Node("Add", biasFirst ? ["b", "h"] : ["h", "b"], "y");
        ob.Output("y");
        var r = ob.Import();
        var dense = Assert.IsType<DenseNode>(Assert.Single(r.Graph.Nodes));
        Assert.Equal(3, dense.Inputs.Length);
        var x = T.Rand(2 * k, 7);
        var (y, _) = T.Run(r.Graph, x, [2, k]);
        T.Close(GemmExpected(x, w, bias, [n], 2, k, n, false, 1, 1), y);
        Assert.All(r.Graph.Tensors, t => Assert.Equal(TensorDType.Float32, t.DType));
    }

    [Fact]
    public void MatMul_on_rank_3_activations_keeps_leading_dims()
    {
        var w = T.Rand(4 * 2, 1);
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 3, 4);
        ob.Init("W", [4, 2], w);
        ob.Node("MatMul", ["x", "W"], "y");
        ob.Output("y");
        var r = ob.Import();
        Assert.Equal([Shapes.Batch, 3, 2], r.Outputs[0].Shape);
        var x = T.Rand(24, 2);
        var (y, _) = T.Run(r.Graph, x, [2, 3, 4]);
        T.Close(GemmExpected(x, w, null, null, 6, 4, 2, false, 1, 1), y);
    }

    [Fact]
    public void MatMul_of_two_runtime_tensors_is_refused()
    {
        var ob = new OnnxBuilder();
        ob.Input("a", "N", 3);
        ob.Input("b", 3, 3);
        ob.Node("MatMul", ["a", "b"], "y", "mm");
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("mm", e.Message);
        Assert.Contains("constant", e.Message);
    }
}
