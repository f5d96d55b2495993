using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Tests.Graph;

/// <summary>
/// Output shapes of every op against formulas computed here (ONNX semantics), symbolic batch propagation,
/// and every invalid configuration failing with <see cref="EmaException"/> naming the node.
/// </summary>
public class ShapeInferenceTests
{
    private const int N = Shapes.Batch;
    private static int _names;

    private static TensorData W(params int[] shape)
        => TensorData.FromFloat32($"w{Interlocked.Increment(ref _names)}", shape, new float[Shapes.Elements(shape, "test")]);

    private static int[] ShapeOf(GraphBuilder b, int v) => b.Graph.Values[v].Shape;

    /// <summary>ONNX Conv / floor-mode pool: floor((in + pad_b + pad_e - dil*(k-1) - 1) / stride) + 1.</summary>
    private static int FloorOut(int input, int k, int stride, int padB, int padE, int dil)
        => (int)Math.Floor((double)(input + padB + padE - dil * (k - 1) - 1) / stride) + 1;

    /// <summary>ONNX pool with ceil_mode = 1: ceil(...) + 1, minus the last window if it would start in the end padding.</summary>
    private static int CeilOut(int input, int k, int stride, int padB, int padE, int dil)
    {
        int o = (int)Math.Ceiling((double)(input + padB + padE - dil * (k - 1) - 1) / stride) + 1;
        if ((o - 1) * stride >= input + padB) o--;
        return o;
    }

    /// <summary>Asserts <paramref name="build"/> throws exactly <see cref="EmaException"/> naming node 'bad' of <paramref name="op"/>.</summary>
    private static void Fails(OpKind op, string fragment, Action<GraphBuilder> build)
    {
        var b = new GraphBuilder();
        var e = Assert.Throws<EmaException>(() => build(b));
        Assert.StartsWith($"node 'bad' ({op}): ", e.Message);
        Assert.Contains(fragment, e.Message);
    }

    // ---------------------------------------------------------------- Dense

    [Theory]
    [InlineData(new[] { N, 4 }, 3, new[] { N, 3 })]
    [InlineData(new[] { 2, 4 }, 5, new[] { 2, 5 })]
    [InlineData(new[] { N, 7, 4 }, 3, new[] { N, 7, 3 })]
    [InlineData(new[] { 4 }, 2, new[] { 2 })]
    [InlineData(new[] { N, 2, 3, 4 }, 1, new[] { N, 2, 3, 1 })]
    public void Dense_ReplacesTheLastDim(int[] x, int m, int[] expected)
    {
        var b = new GraphBuilder();
        int k = x[^1];
        int y = b.Dense(b.Input("x", x), W(m, k), W(m));
        Assert.Equal(expected, ShapeOf(b, y));
        int z = b.Dense(b.Input("x2", x), W(m, k));
        Assert.Equal(expected, ShapeOf(b, z));
    }

    [Fact]
    public void Dense_Errors()
    {
        Fails(OpKind.Dense, "weight must be rank 2", b => b.Dense(b.Input("x", N, 4), W(3, 4, 1), name: "bad"));
        Fails(OpKind.Dense, "weight must be rank 2", b => b.Dense(b.Input("x", N, 4), W(4), name: "bad"));
        Fails(OpKind.Dense, "does not end in K = 5", b => b.Dense(b.Input("x", N, 4), W(3, 5), name: "bad"));
        Fails(OpKind.Dense, "does not end in K", b => b.Dense(b.Input("x"), W(3, 1), name: "bad"));
        Fails(OpKind.Dense, "does not end in K", b => b.Dense(b.Input("x", N), W(3, 1), name: "bad"));
        Fails(OpKind.Dense, "bias shape [4] is not [3]", b => b.Dense(b.Input("x", N, 4), W(3, 4), W(4), name: "bad"));
        Fails(OpKind.Dense, "bias shape [1, 3] is not [3]", b => b.Dense(b.Input("x", N, 4), W(3, 4), W(1, 3), name: "bad"));
        Fails(OpKind.Dense, "bias shape [] is not [3]", b => b.Dense(b.Input("x", N, 4), W(3, 4), W(), name: "bad"));
    }

    // ---------------------------------------------------------------- Conv

    [Fact]
    public void Conv_KnownShapes()
    {
        var b = new GraphBuilder();
        // ResNet stem: 224 -> 112 with k7 s2 p3.
        int stem = b.Conv(b.Input("img", N, 3, 224, 224), W(64, 3, 7, 7), strides: [2, 2], pads: [3, 3, 3, 3]);
        Assert.Equal([N, 64, 112, 112], ShapeOf(b, stem));
        // Depthwise 3x3 stride 2 with asymmetric pads (TF "SAME" style): 112 -> 56.
        int dw = b.Conv(b.Input("dw", N, 32, 112, 112), W(32, 1, 3, 3), strides: [2, 2], pads: [0, 0, 1, 1], groups: 32);
        Assert.Equal([N, 32, 56, 56], ShapeOf(b, dw));
        // 1D dilated: 10 - 2*(3-1) = 6.
        int d1 = b.Conv(b.Input("seq", 2, 4, 10), W(6, 4, 3), dilations: [2]);
        Assert.Equal([2, 6, 6], ShapeOf(b, d1));
        // Grouped with multiplier: C=6, groups=3, M=9, weight [9, 2, k].
        int g = b.Conv(b.Input("g", 1, 6, 9, 5), W(9, 2, 2, 1), strides: [3, 1], groups: 3);
        Assert.Equal([1, 9, 3, 5], ShapeOf(b, g));
        // Defaults: strides 1, no pads, dilations 1.
        int def = b.Conv(b.Input("d", N, 1, 5), W(2, 1, 5));
        Assert.Equal([N, 2, 1], ShapeOf(b, def));
    }

    [Fact]
    public void Conv_RandomConfigurations_MatchTheOnnxFormula()
    {
        var rng = new Random(2024);
        for (int iter = 0; iter < 600; iter++)
        {
            int sp = rng.Next(1, 3);
            int c = rng.Next(1, 9);
            var divisors = Enumerable.Range(1, c).Where(d => c % d == 0).ToArray();
            int groups = divisors[rng.Next(divisors.Length)];
            int m = groups * rng.Next(1, 4);
            int batch = rng.Next(2) == 0 ? N : rng.Next(1, 4);
            var inDims = new int[sp]; var k = new int[sp]; var s = new int[sp]; var d = new int[sp]; var p = new int[2 * sp];
            var expected = new int[2 + sp];
            expected[0] = batch; expected[1] = m;
            for (int i = 0; i < sp; i++)
            {
                k[i] = rng.Next(1, 6); s[i] = rng.Next(1, 5); d[i] = rng.Next(1, 4);
                p[i] = rng.Next(0, 4); p[i + sp] = rng.Next(0, 4);
                int span = d[i] * (k[i] - 1) + 1;
                inDims[i] = Math.Max(1, span - p[i] - p[i + sp]) + rng.Next(0, 20);
                expected[2 + i] = FloorOut(inDims[i], k[i], s[i], p[i], p[i + sp], d[i]);
            }
            var b = new GraphBuilder();
            int y = b.Conv(b.Input("x", [batch, c, .. inDims]), W([m, c / groups, .. k]), rng.Next(2) == 0 ? W(m) : null, s, p, d, groups);
            Assert.Equal(expected, ShapeOf(b, y));
        }
    }

    [Fact]
    public void Conv_Errors()
    {
        Fails(OpKind.Conv, "input must be [N, C, L] or [N, C, H, W]", b => b.Conv(b.Input("x", N, 4), W(2, 4), name: "bad"));
        Fails(OpKind.Conv, "input must be", b => b.Conv(b.Input("x", N, 1, 4, 4, 4), W(2, 1, 1, 1, 1), name: "bad"));
        Fails(OpKind.Conv, "rank does not match", b => b.Conv(b.Input("x", N, 2, 5, 5), W(4, 2, 3), name: "bad"));
        Fails(OpKind.Conv, "groups must be >= 1", b => b.Conv(b.Input("x", N, 2, 5), W(4, 2, 3), groups: 0, name: "bad"));
        Fails(OpKind.Conv, "groups must be >= 1", b => b.Conv(b.Input("x", N, 2, 5), W(4, 2, 3), groups: -2, name: "bad"));
        Fails(OpKind.Conv, "divisible by groups 3", b => b.Conv(b.Input("x", N, 4, 5), W(3, 1, 3), groups: 3, name: "bad"));
        Fails(OpKind.Conv, "divisible by groups 2", b => b.Conv(b.Input("x", N, 4, 5), W(3, 2, 3), groups: 2, name: "bad"));
        Fails(OpKind.Conv, "expects 3 input channels, input has 4", b => b.Conv(b.Input("x", N, 4, 5), W(2, 3, 3), name: "bad"));
        Fails(OpKind.Conv, "expects 8 input channels, input has 4", b => b.Conv(b.Input("x", N, 4, 5, 5), W(4, 2, 3, 3), groups: 4, name: "bad"));
        Fails(OpKind.Conv, "bias shape [2] is not [4]", b => b.Conv(b.Input("x", N, 2, 5), W(4, 2, 3), W(2), name: "bad"));
        Fails(OpKind.Conv, "strides [1] must have 2 entries", b => b.Conv(b.Input("x", N, 2, 5, 5), W(4, 2, 3, 3), strides: [1], name: "bad"));
        Fails(OpKind.Conv, "pads [0, 0] must have 4 entries", b => b.Conv(b.Input("x", N, 2, 5, 5), W(4, 2, 3, 3), pads: [0, 0], name: "bad"));
        Fails(OpKind.Conv, "dilations [1, 1, 1] must have 2 entries", b => b.Conv(b.Input("x", N, 2, 5, 5), W(4, 2, 3, 3), dilations: [1, 1, 1], name: "bad"));
        Fails(OpKind.Conv, "must be >= 1", b => b.Conv(b.Input("x", N, 2, 5), W(4, 2, 3), strides: [0], name: "bad"));
        Fails(OpKind.Conv, "must be >= 1", b => b.Conv(b.Input("x", N, 2, 5), W(4, 2, 3), dilations: [0], name: "bad"));
        Fails(OpKind.Conv, "must be >= 1", b => b.Conv(b.Input("x", N, 2, 5), W(4, 2, 3), pads: [0, -1], name: "bad"));
        Fails(OpKind.Conv, "must be >= 1", b => b.Conv(b.Input("x", N, 2, 5), W(4, 2, 0), name: "bad"));
        Fails(OpKind.Conv, "kernel extent 5 exceeds padded input 3", b => b.Conv(b.Input("x", N, 2, 3), W(4, 2, 5), name: "bad"));
        Fails(OpKind.Conv, "kernel extent 7 exceeds padded input 6", b => b.Conv(b.Input("x", N, 2, 4), W(4, 2, 4), pads: [1, 1], dilations: [2], name: "bad"));
    }

    // ---------------------------------------------------------------- Pools

    [Fact]
    public void Pool_KnownShapes()
    {
        var b = new GraphBuilder();
        // ResNet max pool: k3 s2 p1, 112 -> 56.
        Assert.Equal([N, 64, 56, 56], ShapeOf(b, b.MaxPool(b.Input("a", N, 64, 112, 112), [3, 3], [2, 2], [1, 1, 1, 1])));
        // Strides default to the kernel in the builder: 7 -> 3.
        Assert.Equal([N, 1, 3], ShapeOf(b, b.MaxPool(b.Input("b", N, 1, 7), [2])));
        // Length 6, k3 s2: floor -> 2, ceil -> 3.
        Assert.Equal([1, 1, 2], ShapeOf(b, b.AveragePool(b.Input("c", 1, 1, 6), [3], [2])));
        Assert.Equal([1, 1, 3], ShapeOf(b, b.AveragePool(b.Input("d", 1, 1, 6), [3], [2], ceilMode: true)));
        // Length 5, k2 s2, pads 1/1: ceil gives 4 windows, but the last would start in the end padding -> 3.
        Assert.Equal([1, 1, 3], ShapeOf(b, b.MaxPool(b.Input("e", 1, 1, 5), [2], [2], [1, 1], ceilMode: true)));
        Assert.Equal([1, 1, 3], ShapeOf(b, b.MaxPool(b.Input("f", 1, 1, 5), [2], [2], [1, 1])));
        // Dilated max pool: span 2*(3-1)+1 = 5 over 9 -> 5.
        Assert.Equal([N, 2, 5, 5], ShapeOf(b, b.MaxPool(b.Input("g", N, 2, 9, 5), [3, 1], [1, 1], dilations: [2, 1])));
    }

    [Fact]
    public void Pool_RandomConfigurations_MatchTheOnnxFormulas()
    {
        var rng = new Random(77);
        int adjusted = 0;
        for (int iter = 0; iter < 800; iter++)
        {
            int sp = rng.Next(1, 3);
            bool max = rng.Next(2) == 0, ceil = rng.Next(2) == 0;
            int batch = rng.Next(2) == 0 ? N : rng.Next(1, 4), c = rng.Next(1, 5);
            var inDims = new int[sp]; var k = new int[sp]; var s = new int[sp]; var d = new int[sp]; var p = new int[2 * sp];
            var expected = new int[2 + sp];
            expected[0] = batch; expected[1] = c;
            for (int i = 0; i < sp; i++)
            {
                k[i] = rng.Next(1, 5); s[i] = rng.Next(1, 5); d[i] = max ? rng.Next(1, 3) : 1;
                p[i] = rng.Next(k[i]); p[i + sp] = rng.Next(k[i]);
                int span = d[i] * (k[i] - 1) + 1;
                inDims[i] = Math.Max(1, span - p[i] - p[i + sp]) + rng.Next(0, 12);
                expected[2 + i] = ceil ? CeilOut(inDims[i], k[i], s[i], p[i], p[i + sp], d[i]) : FloorOut(inDims[i], k[i], s[i], p[i], p[i + sp], d[i]);
                if (ceil && CeilOut(inDims[i], k[i], s[i], p[i], p[i + sp], d[i]) != (int)Math.Ceiling((double)(inDims[i] + p[i] + p[i + sp] - span) / s[i]) + 1) adjusted++;
            }
            var b = new GraphBuilder();
            int x = b.Input("x", [batch, c, .. inDims]);
            int y = max ? b.MaxPool(x, k, s, p, d, ceil) : b.AveragePool(x, k, s, p, countIncludePad: rng.Next(2) == 0, ceilMode: ceil);
            Assert.Equal(expected, ShapeOf(b, y));
        }
        Assert.True(adjusted > 10, $"only {adjusted} cases exercised the ceil-mode adjustment");
    }

    [Fact]
    public void Pool_Errors()
    {
        Fails(OpKind.MaxPool, "input must be", b => b.MaxPool(b.Input("x", N, 4), [2], name: "bad"));
        Fails(OpKind.AveragePool, "input must be", b => b.AveragePool(b.Input("x", N, 4, 4, 4, 4), [2, 2, 2], name: "bad"));
        Fails(OpKind.MaxPool, "kernel has 1 dims for 2 spatial dims", b => b.MaxPool(b.Input("x", N, 2, 4, 4), [2], name: "bad"));
        Fails(OpKind.MaxPool, "strides [1] must have 2 entries", b => b.MaxPool(b.Input("x", N, 2, 4, 4), [2, 2], [1], name: "bad"));
        Fails(OpKind.AveragePool, "pads [0] must have 2 entries", b => b.AveragePool(b.Input("x", N, 2, 4), [2], pads: [0], name: "bad"));
        Fails(OpKind.MaxPool, "must be >= 1", b => b.MaxPool(b.Input("x", N, 2, 4), [0], name: "bad"));
        Fails(OpKind.MaxPool, "kernel extent 5 exceeds padded input 4", b => b.MaxPool(b.Input("x", N, 2, 4), [5], name: "bad"));
        Fails(OpKind.GlobalAveragePool, "must have spatial dims", b => b.GlobalAveragePool(b.Input("x", N, 2), name: "bad"));
    }

    [Fact]
    public void GlobalAveragePool_KeepsNAndC()
    {
        var b = new GraphBuilder();
        Assert.Equal([N, 3, 1, 1], ShapeOf(b, b.GlobalAveragePool(b.Input("a", N, 3, 7, 5))));
        Assert.Equal([2, 8, 1], ShapeOf(b, b.GlobalAveragePool(b.Input("b", 2, 8, 11))));
    }

    // ---------------------------------------------------------------- Add

    [Theory]
    [InlineData(new[] { N, 3, 4, 5 }, new[] { 5 }, new[] { N, 3, 4, 5 })]
    [InlineData(new[] { 3, 1, 5 }, new[] { 4, 1 }, new[] { 3, 4, 5 })]
    [InlineData(new[] { 1 }, new[] { N, 3 }, new[] { N, 3 })]
    [InlineData(new int[0], new[] { 2, 3 }, new[] { 2, 3 })]
    [InlineData(new[] { N, 3 }, new[] { 1, 3 }, new[] { N, 3 })]
    [InlineData(new[] { 1, 3 }, new[] { N, 1 }, new[] { N, 3 })]
    [InlineData(new[] { N, 8, 1, 1 }, new[] { N, 8, 4, 4 }, new[] { N, 8, 4, 4 })]
    [InlineData(new[] { 2, 0 }, new[] { 1 }, new[] { 2, 0 })]
    public void Add_BroadcastsLikeNumpy(int[] a, int[] bShape, int[] expected)
    {
        var b = new GraphBuilder();
        int x = b.Input("a", a), y = b.Input("b", bShape);
        Assert.Equal(expected, ShapeOf(b, b.Add(x, y)));
        Assert.Equal(expected, ShapeOf(b, b.Add(y, x)));
    }

    [Fact]
    public void Add_Errors()
    {
        Fails(OpKind.Add, "do not broadcast", b => b.Add(b.Input("a", 2, 3), b.Input("b", 3, 2), "bad"));
        Fails(OpKind.Add, "do not broadcast", b => b.Add(b.Input("a", N, 3), b.Input("b", 5, 3), "bad"));
        Fails(OpKind.Add, "do not broadcast", b => b.Add(b.Input("a", 3), b.Input("b", N), "bad"));
        Fails(OpKind.Add, "symbolic batch lands in dim 1", b => b.Add(b.Input("a", N, 3), b.Input("b", 2, 1, 3), "bad"));
    }

    // ---------------------------------------------------------------- Flatten

    [Theory]
    [InlineData(new[] { 2, 3, 4, 5 }, 0, new[] { 1, 120 })]
    [InlineData(new[] { 2, 3, 4, 5 }, 1, new[] { 2, 60 })]
    [InlineData(new[] { 2, 3, 4, 5 }, 2, new[] { 6, 20 })]
    [InlineData(new[] { 2, 3, 4, 5 }, 3, new[] { 24, 5 })]
    [InlineData(new[] { 2, 3, 4, 5 }, 4, new[] { 120, 1 })]
    [InlineData(new[] { 2, 3, 4, 5 }, -1, new[] { 24, 5 })]
    [InlineData(new[] { 2, 3, 4, 5 }, -4, new[] { 1, 120 })]
    [InlineData(new[] { N, 3, 4 }, 1, new[] { N, 12 })]
    [InlineData(new[] { N, 1, 4 }, 2, new[] { N, 4 })]
    [InlineData(new[] { N, 1, 1 }, 3, new[] { N, 1 })]
    [InlineData(new[] { N, 8, 1, 1 }, -3, new[] { N, 8 })]
    [InlineData(new int[0], 0, new[] { 1, 1 })]
    public void Flatten_Shapes(int[] x, int axis, int[] expected)
    {
        var b = new GraphBuilder();
        Assert.Equal(expected, ShapeOf(b, b.Flatten(b.Input("x", x), axis)));
    }

    [Fact]
    public void Flatten_Errors()
    {
        Fails(OpKind.Flatten, "axis 5 out of range", b => b.Flatten(b.Input("x", 2, 3, 4, 5), 5, "bad"));
        Fails(OpKind.Flatten, "axis -5 out of range", b => b.Flatten(b.Input("x", 2, 3, 4, 5), -5, "bad"));
        Fails(OpKind.Flatten, "cannot merge the symbolic batch", b => b.Flatten(b.Input("x", N, 3, 4), 2, "bad"));
        Fails(OpKind.Flatten, "is not static", b => b.Flatten(b.Input("x", N, 3, 4), 0, "bad"));
    }

    // ---------------------------------------------------------------- Reshape

    [Theory]
    [InlineData(new[] { 2, 3, 4 }, new[] { 0, -1 }, new[] { 2, 12 })]
    [InlineData(new[] { 2, 3, 4 }, new[] { -1 }, new[] { 24 })]
    [InlineData(new[] { 2, 3, 4 }, new[] { 4, 0, 2 }, new[] { 4, 3, 2 })]
    [InlineData(new[] { 2, 3, 4 }, new[] { 0, 0, 0 }, new[] { 2, 3, 4 })]
    [InlineData(new[] { 2, 3, 4 }, new[] { 1, -1, 1, 4 }, new[] { 1, 6, 1, 4 })]
    [InlineData(new[] { 1 }, new int[0], new int[0])]
    [InlineData(new[] { N, 3, 4 }, new[] { 0, -1 }, new[] { N, 12 })]
    [InlineData(new[] { N, 3, 4 }, new[] { -1, 12 }, new[] { N, 12 })]
    [InlineData(new[] { N, 3, 4 }, new[] { -1, 2, 6 }, new[] { N, 2, 6 })]
    [InlineData(new[] { N, 3, 4 }, new[] { 0, 4, 3 }, new[] { N, 4, 3 })]
    [InlineData(new[] { N, 3, 4 }, new[] { 0, 2, -1 }, new[] { N, 2, 6 })]
    [InlineData(new[] { N, 12 }, new[] { 0, 0 }, new[] { N, 12 })]
    public void Reshape_Shapes(int[] x, int[] target, int[] expected)
    {
        var b = new GraphBuilder();
        Assert.Equal(expected, ShapeOf(b, b.Reshape(b.Input("x", x), target)));
    }

    [Fact]
    public void Reshape_Errors()
    {
        Fails(OpKind.Reshape, "more than one -1", b => b.Reshape(b.Input("x", 2, 3, 4), [-1, -1], "bad"));
        Fails(OpKind.Reshape, "element counts differ", b => b.Reshape(b.Input("x", 2, 3, 4), [5, 5], "bad"));
        Fails(OpKind.Reshape, "cannot reshape [2, 3, 4] (24 elements)", b => b.Reshape(b.Input("x", 2, 3, 4), [5, -1], "bad"));
        Fails(OpKind.Reshape, "negative dim -2", b => b.Reshape(b.Input("x", 2, 3, 4), [-2, 12], "bad"));
        Fails(OpKind.Reshape, "copies dim 3", b => b.Reshape(b.Input("x", 2, 3, 4), [2, 3, 4, 0], "bad"));
        Fails(OpKind.Reshape, "element counts differ", b => b.Reshape(b.Input("x", N, 3, 4), [12], "bad"));
        Fails(OpKind.Reshape, "with a symbolic batch", b => b.Reshape(b.Input("x", N, 3, 4), [-1, 5], "bad"));
        Fails(OpKind.Reshape, "with a symbolic batch", b => b.Reshape(b.Input("x", N, 3, 4), [2, -1], "bad"));
        Fails(OpKind.Reshape, "element counts differ", b => b.Reshape(b.Input("x", N, 3, 4), [0, 5, 2], "bad"));
        Fails(OpKind.Reshape, "cannot reshape", b => b.Reshape(b.Input("x", 2, 0), [-1, 0], "bad"));
    }

    // ---------------------------------------------------------------- Softmax, Concat, Activation

    [Theory]
    [InlineData(new[] { N, 10 }, -1)]
    [InlineData(new[] { N, 10 }, 1)]
    [InlineData(new[] { 2, 3, 4 }, 0)]
    [InlineData(new[] { 2, 3, 4 }, -3)]
    [InlineData(new[] { N, 3, 4 }, -2)]
    public void Softmax_KeepsTheShape(int[] x, int axis)
    {
        var b = new GraphBuilder();
        Assert.Equal(x, ShapeOf(b, b.Softmax(b.Input("x", x), axis)));
    }

    [Fact]
    public void Softmax_Errors()
    {
        Fails(OpKind.Softmax, "axis 2 out of range", b => b.Softmax(b.Input("x", N, 3), 2, "bad"));
        Fails(OpKind.Softmax, "axis -3 out of range", b => b.Softmax(b.Input("x", N, 3), -3, "bad"));
        Fails(OpKind.Softmax, "axis -1 out of range", b => b.Softmax(b.Input("x"), -1, "bad"));
        Fails(OpKind.Softmax, "batch dimension", b => b.Softmax(b.Input("x", N, 3), 0, "bad"));
        Fails(OpKind.Softmax, "batch dimension", b => b.Softmax(b.Input("x", N, 3), -2, "bad"));
    }

    [Fact]
    public void Concat_SumsTheAxis()
    {
        var b = new GraphBuilder();
        Assert.Equal([2, 8], ShapeOf(b, b.Concat(1, [b.Input("a", 2, 3), b.Input("b", 2, 5)])));
        Assert.Equal([2, 8], ShapeOf(b, b.Concat(-1, [b.Input("c", 2, 3), b.Input("d", 2, 5)])));
        Assert.Equal([5, 3], ShapeOf(b, b.Concat(0, [b.Input("e", 2, 3), b.Input("f", 3, 3)])));
        Assert.Equal([N, 7, 2], ShapeOf(b, b.Concat(1, [b.Input("g", N, 3, 2), b.Input("h", N, 4, 2)])));
        int x = b.Input("i", N, 2, 5);
        Assert.Equal([N, 2, 15], ShapeOf(b, b.Concat(2, [x, x, x])));
        Assert.Equal([N, 2, 5], ShapeOf(b, b.Concat(1, [x])));
        Assert.Equal([N, 3, 0], ShapeOf(b, b.Concat(2, [b.Input("j", N, 3, 0), b.Input("k", N, 3, 0)])));
    }

    [Fact]
    public void Concat_Errors()
    {
        Fails(OpKind.Concat, "rank 3 differs from 2", b => b.Concat(1, [b.Input("a", 2, 3), b.Input("b", 2, 3, 1)], "bad"));
        Fails(OpKind.Concat, "differs from [2, 3] off axis 1", b => b.Concat(1, [b.Input("a", 2, 3), b.Input("b", 4, 3)], "bad"));
        Fails(OpKind.Concat, "off axis", b => b.Concat(1, [b.Input("a", N, 3), b.Input("b", 2, 3)], "bad"));
        Fails(OpKind.Concat, "axis 2 out of range", b => b.Concat(2, [b.Input("a", 2, 3)], "bad"));
        Fails(OpKind.Concat, "axis -3 out of range", b => b.Concat(-3, [b.Input("a", 2, 3)], "bad"));
        Fails(OpKind.Concat, "batch dimension", b => b.Concat(0, [b.Input("a", N, 3), b.Input("b", N, 3)], "bad"));
        // The symbolic batch of a later input cannot be added to a static dim either.
        Fails(OpKind.Concat, "batch dimension", b => b.Concat(0, [b.Input("a", 2, 3), b.Input("b", N, 3)], "bad"));
    }

    [Fact]
    public void Activation_KeepsTheShape()
    {
        var b = new GraphBuilder();
        foreach (var shape in new[] { new[] { N, 3, 2 }, [], [0, 4] })
            Assert.Equal(shape, ShapeOf(b, b.Act(b.Input($"x{shape.Length}", shape), Activation.Gelu)));
    }

    // ---------------------------------------------------------------- batch and overflow

    [Fact]
    public void SymbolicBatch_PropagatesThroughAChain()
    {
        var b = new GraphBuilder();
        int x = b.Input("img", N, 3, 16, 16);
        int c = b.Conv(x, W(8, 3, 3, 3), W(8), pads: [1, 1, 1, 1]);                 // [N, 8, 16, 16]
        int dw = b.Conv(c, W(8, 1, 3, 3), strides: [2, 2], pads: [1, 1, 1, 1], groups: 8); // [N, 8, 8, 8]
        int p = b.MaxPool(dw, [2, 2]);                                                 // [N, 8, 4, 4]
        int res = b.Add(p, b.AveragePool(dw, [2, 2], ceilMode: true));               // [N, 8, 4, 4]
        int g = b.GlobalAveragePool(res);                                              // [N, 8, 1, 1]
        int f = b.Flatten(g);                                                          // [N, 8]
        int r = b.Reshape(f, [0, 2, -1]);                                              // [N, 2, 4]
        int d = b.Dense(r, W(5, 4));                                                   // [N, 2, 5]
        int cat = b.Concat(-1, [d, d]);                                                // [N, 2, 10]
        int back = b.Reshape(cat, [-1, 20]);                                           // [N, 20]
        int s = b.Softmax(b.Act(back, Activation.Silu));                               // [N, 20]
        Assert.Equal([N, 8, 16, 16], ShapeOf(b, c));
        Assert.Equal([N, 8, 8, 8], ShapeOf(b, dw));
        Assert.Equal([N, 8, 4, 4], ShapeOf(b, res));
        Assert.Equal([N, 8, 1, 1], ShapeOf(b, g));
        Assert.Equal([N, 2, 4], ShapeOf(b, r));
        Assert.Equal([N, 2, 10], ShapeOf(b, cat));
        Assert.Equal([N, 20], ShapeOf(b, s));
        b.Output(s);
        b.Graph.Validate();
        // InferShapes recomputes the same shapes.
        var before = b.Graph.Values.Select(v => v.Shape).ToList();
        for (int i = 0; i < b.Graph.Values.Count; i++)
            if (!b.Graph.Values[i].IsConstant && !b.Graph.Inputs.Contains(i)) b.Graph.Values[i] = b.Graph.Values[i] with { Shape = [] };
        b.Graph.InferShapes();
        Assert.Equal(before, b.Graph.Values.Select(v => v.Shape).ToList());
        Assert.Equal([4, 20], Shapes.Resolve(ShapeOf(b, s), 4));
    }

    /// <summary>Dims whose result does not fit an int must fail as an <see cref="EmaException"/> naming the node,
    /// not as an OverflowException (a crafted file can carry them).</summary>
    [Fact]
    public void HugeDims_FailAsEmaException()
    {
        const int Max = int.MaxValue;
        Fails(OpKind.Flatten, "", b => b.Flatten(b.Input("x", 2, 1 << 30), 0, "bad"));            // 2^31 elements in one dim
        Fails(OpKind.Flatten, "", b => b.Flatten(b.Input("x", N, 2, 1 << 30), 1, "bad"));
        Fails(OpKind.Flatten, "", b => b.Flatten(b.Input("x", 1 << 16, 1 << 15, 1), 2, "bad"));
        Fails(OpKind.Flatten, "has more than", b => b.Flatten(b.Input("x", 1 << 16, 1 << 16, 1), 2, "bad"));
        Fails(OpKind.Concat, "", b => { int x = b.Input("x", 1, 1 << 30); b.Concat(1, [x, x], "bad"); });
        Fails(OpKind.Reshape, "has more than", b => b.Reshape(b.Input("x", 2, 3), [Max, Max, Max, Max, Max, Max, Max, Max], "bad"));
        Fails(OpKind.Reshape, "", b => b.Reshape(b.Input("x", 2, 1 << 30), [-1], "bad"));
        Fails(OpKind.Reshape, "", b => b.Reshape(b.Input("x", 2, 3), [-1, Max, Max, Max], "bad"));
        Fails(OpKind.Conv, "", b => b.Conv(b.Input("x", 1, 1, 4), W(1, 1, 1), pads: [Max, Max], name: "bad"));
        Fails(OpKind.MaxPool, "", b => b.MaxPool(b.Input("x", 1, 1, Max), [1], [1], [Max, Max], name: "bad"));
        Fails(OpKind.AveragePool, "", b => b.AveragePool(b.Input("x", 1, 1, 4), [1], [1], [Max, 0], ceilMode: true, name: "bad"));
    }
}
