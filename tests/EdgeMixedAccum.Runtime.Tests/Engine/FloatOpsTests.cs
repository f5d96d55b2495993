using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Reference;
using EdgeMixedAccum.Runtime.Engine.Ops;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Runtime.Tests.Engine;

/// <summary>
/// The fp32 non-layer ops against the naive oracle: bitwise against <c>ReferenceOps&lt;float&gt;</c> where the op
/// does the same fp32 operations in the same order (max, add, concat, and the averages, which keep the
/// reference's summation order), and within named error bounds of <c>ReferenceOps&lt;double&gt;</c>. Also: no
/// allocation in Run, and too-short spans rejected.
/// </summary>
public class FloatOpsTests
{
    /// <summary>Unit roundoff of fp32 (half an ulp at 1).</summary>
    private const double U = 1.0 / (1 << 24);

    /// <summary>A sum of k terms from zero errs by at most (k-1) u sum|x|; the division adds u |y|. So an average
    /// of k terms is within (k + 1) u mean|x| of the exact one; the bound below is that, with mean|x| the
    /// reference average of the absolute values over the same window and divisor.</summary>
    private static double AverageBound(int terms, double meanAbs) => (terms + 1) * U * meanAbs;

    /// <summary>Softmax: the argument x - max rounds with relative error u (so exp errs by |x - max| u, at most 8u
    /// for inputs in [-4, 4]); MathF.Exp is within 1 ulp (2u); the sum of len positive terms errs by len u; the
    /// division by u. 64u covers len up to 32 with room; the absolute floor covers results that fp32 flushes
    /// to subnormals or zero while fp64 still resolves them.</summary>
    private const double SoftmaxRelative = 64 * U;
    private const double SoftmaxFloor = 1e-37;

    /// <summary>MathF.Tanh against Math.Tanh: a few fp32 ulps (4 ulps = 8u) relative.</summary>
    private const double TanhRelative = 8 * U;

    private static readonly int[] Batches = [0, 1, 3];

    // ---- helpers ---------------------------------------------------------------------------------

    private static float[] RandomData(Random rng, long count, float scale = 4f)
    {
        var d = new float[count];
        for (int i = 0; i < d.Length; i++) d[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return d;
    }

    private static int[] Resolve(int[] shape, int batch) => Shapes.Resolve(shape, batch);

    private static long Count(int[] shape) => Shapes.Elements(shape, "test");

    private static float[] RunOp(FloatOp op, float[][] inputs, long outCount, int batch)
    {
        var mem = new ReadOnlyMemory<float>[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) mem[i] = inputs[i];
        // Sentinel past the end: the op must not write beyond the output it was asked for.
        var y = new float[outCount + 1];
        y[^1] = 12345f;
        op.Run(mem, y, batch);
        Assert.Equal(12345f, y[^1]);
        return y[..^1];
    }

    private static void AssertBitwise(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i])
                && !(float.IsNaN(expected[i]) && float.IsNaN(actual[i])))
                Assert.Fail($"{what}: element {i} is {actual[i]:R}, the fp32 reference {expected[i]:R}");
    }

    private static T Node<T>(T node, string name) where T : Node { node.Name = name; return node; }

    // ---- pools ---------------------------------------------------------------------------------

    public static TheoryData<int[], int[], int[], int[], int[], bool> PoolCases() => new()
    {
        // shape, kernel, strides, pads, dilations, ceil
        { [-1, 3, 11], [3], [2], [1, 1], [1], false },
        { [-1, 3, 11], [3], [2], [1, 1], [1], true },
        { [-1, 2, 7], [2], [1], [0, 1], [2], false },
        { [-1, 1, 5], [5], [3], [2, 2], [1], true },
        { [2, 2, 9], [4], [3], [1, 2], [1], true },
        { [-1, 3, 7, 9], [3, 2], [2, 3], [1, 0, 1, 1], [1, 2], false },
        { [-1, 3, 7, 9], [3, 2], [2, 3], [1, 0, 1, 1], [1, 2], true },
        { [-1, 2, 5, 5], [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], true },
        { [-1, 1, 6, 5], [3, 3], [1, 1], [1, 1, 1, 1], [2, 2], false },
        { [-1, 4, 8, 7], [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], true },
        { [3, 2, 4, 3], [2, 3], [1, 2], [0, 1, 1, 2], [1, 1], true },
        // The vector path of 2x2 stride-2 max pools (PoolOp.RunMax2x2): even, odd and vector-tail widths (the last
        // step overlapping the one before: 7 and 9 outputs), under one vector (3 outputs), 1D.
        { [-1, 3, 28, 28], [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], false },
        { [-1, 2, 14, 14], [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], false },
        { [-1, 2, 4, 6], [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], false },
        { [-1, 2, 9, 19], [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], false },
        { [-1, 2, 21], [2], [2], [0, 0], [1], false },
    };

    [Theory]
    [MemberData(nameof(PoolCases))]
    public void Pool_MatchesReference(int[] shape, int[] kernel, int[] strides, int[] pads, int[] dilations, bool ceil)
    {
        var rng = new Random(1234 + shape.Sum() + kernel.Sum() + (ceil ? 7 : 0));
        foreach (bool max in new[] { true, false })
            foreach (bool cip in new[] { false, true })
            {
                if (max && cip) continue;
                var node = Node(new PoolNode(max) { Kernel = kernel, Strides = strides, Pads = pads, Dilations = dilations, CeilMode = ceil, CountIncludePad = cip }, "pool");
                var outShape = node.InferShape([shape]);
                var op = FloatOp.Create(node, [shape], outShape);
                foreach (int batch in Batches)
                {
                    int[] xs = Resolve(shape, batch), ys = Resolve(outShape, batch);
                    var x = RandomData(rng, Count(xs));
                    var y = RunOp(op, [x], Count(ys), batch);
                    string what = $"{(max ? "max" : "avg")} cip={cip} {Shapes.Format(shape)} batch {batch}";
                    // Same fp32 operations in the same order as the reference: bitwise equal.
                    AssertBitwise(ReferenceOps<float>.Pool(RefTensor<float>.FromFloat(xs, x), node, ys).Data, y, what);
                    var exact = ReferenceOps<double>.Pool(RefTensor<double>.FromFloat(xs, x), node, ys).Data;
                    if (max)
                    {
                        for (int i = 0; i < y.Length; i++) Assert.Equal(exact[i], (double)y[i]);
                        continue;
                    }
                    var abs = Array.ConvertAll(x, MathF.Abs);
                    var meanAbs = ReferenceOps<double>.Pool(RefTensor<double>.FromFloat(xs, abs), node, ys).Data;
                    int terms = kernel.Aggregate(1, (a, k) => a * k);
                    for (int i = 0; i < y.Length; i++)
                        Assert.True(Math.Abs(y[i] - exact[i]) <= AverageBound(terms, meanAbs[i]),
                            $"{what}: element {i} is {y[i]:R}, exact {exact[i]:R}");
                }
            }
    }

    [Fact]
    public void MaxPool2x2_VectorPathKeepsTheReferenceOrderOnSpecials()
    {
        // NaN anywhere in a window gives NaN; of -0 and +0 the first in window order wins; infinities.
        float[] specials = [float.NaN, -0f, 0f, float.NegativeInfinity, float.PositiveInfinity, 1f, -1f];
        var rng = new Random(77);
        foreach (int[] shape in new[] { new[] { 1, 3, 8, 18 }, new[] { 2, 2, 40 } })
        {
            bool oneD = shape.Length == 3;
            var node = Node(new PoolNode(true) { Kernel = oneD ? [2] : [2, 2], Strides = oneD ? [2] : [2, 2], Pads = oneD ? [0, 0] : [0, 0, 0, 0], Dilations = oneD ? [1] : [1, 1] }, "max2x2");
            var outShape = node.InferShape([shape]);
            for (int trial = 0; trial < 20; trial++)
            {
                var x = new float[Count(shape)];
                for (int i = 0; i < x.Length; i++) x[i] = rng.Next(3) == 0 ? specials[rng.Next(specials.Length)] : (float)(rng.NextDouble() - 0.5);
                var y = RunOp(FloatOp.Create(node, [shape], outShape), [x], Count(outShape), shape[0]);
                AssertBitwise(ReferenceOps<float>.Pool(RefTensor<float>.FromFloat(shape, x), node, outShape).Data, y, $"max2x2 {Shapes.Format(shape)} trial {trial}");
            }
        }
    }

    [Fact]
    public void MaxPool_NaNAndPaddingOnlyWindows()
    {
        // Pads as wide as the kernel: the first window sees only padding (-inf for max, 0 for avg, as the reference).
        int[] shape = [1, 1, 6];
        foreach (bool max in new[] { true, false })
        {
            var node = Node(new PoolNode(max) { Kernel = [2], Strides = [2], Pads = [2, 0], Dilations = [1] }, "pad-only");
            var outShape = node.InferShape([shape]);
            float[] x = [1f, float.NaN, -3f, -0f, 0f, 2f];
            var y = RunOp(FloatOp.Create(node, [shape], outShape), [x], Count(outShape), 1);
            AssertBitwise(ReferenceOps<float>.Pool(RefTensor<float>.FromFloat(shape, x), node, outShape).Data, y, max ? "max" : "avg");
        }
    }

    [Fact]
    public void GlobalAveragePool_MatchesReference()
    {
        var rng = new Random(77);
        foreach (var shape in new[] { new[] { -1, 3, 7 }, [-1, 5, 7, 9], [-1, 2, 1, 1], [2, 4, 3, 5] })
        {
            var node = Node(new GlobalAveragePoolNode(), "gap");
            var outShape = node.InferShape([shape]);
            var op = FloatOp.Create(node, [shape], outShape);
            foreach (int batch in Batches)
            {
                int[] xs = Resolve(shape, batch), ys = Resolve(outShape, batch);
                var x = RandomData(rng, Count(xs));
                var y = RunOp(op, [x], Count(ys), batch);
                AssertBitwise(ReferenceOps<float>.GlobalAveragePool(RefTensor<float>.FromFloat(xs, x), ys).Data, y, "gap");
                var exact = ReferenceOps<double>.GlobalAveragePool(RefTensor<double>.FromFloat(xs, x), ys).Data;
                var meanAbs = ReferenceOps<double>.GlobalAveragePool(RefTensor<double>.FromFloat(xs, Array.ConvertAll(x, MathF.Abs)), ys).Data;
                int terms = (int)Count(shape[2..]);
                for (int i = 0; i < y.Length; i++)
                    Assert.True(Math.Abs(y[i] - exact[i]) <= AverageBound(terms, meanAbs[i]), $"gap {Shapes.Format(shape)}: element {i}");
            }
        }
    }

    // ---- add -----------------------------------------------------------------------------------

    public static TheoryData<int[], int[], string> AddCases() => new()
    {
        { [-1, 3, 4, 5], [-1, 3, 4, 5], "same" },
        { [-1, 3, 4, 5], [3, 1, 1], "vector" },     // per-channel constant
        { [3, 1, 1], [-1, 3, 4, 5], "vector" },     // per-channel constant first (operands swap)
        { [-1, 6, 7], [7], "vector" },              // per-last-dim constant
        { [-1, 6, 7], [], "scalar" },               // rank-0 scalar
        { [-1, 9], [1], "scalar" },                 // [1] vs [N, K]
        { [-1, 1, 5], [4, 1], "general" },          // both operands broadcast
        { [-1, 3, 1, 5], [1, 4, 1], "general" },    // mixed
        { [-1, 2, 3, 4], [2, 1, 4], "general" },    // small varies along two dims
        { [-1, 1, 4], [-1, 3, 1], "general" },      // both batched
        { [-1, 4], [1, 4], "same" },                // leading 1 broadcast over the batch
        { [4, 5], [4, 1], "scalar" },               // static lead, one constant per row
        { [], [], "same" },                         // scalar + scalar
        { [-1, 0, 3], [3], "vector" },              // empty item
    };

    [Theory]
    [MemberData(nameof(AddCases))]
    public void Add_MatchesReferenceExactly(int[] a, int[] b, string path)
    {
        var rng = new Random(a.Length * 31 + b.Length + a.Sum() + 3 * b.Sum());
        var node = Node(new AddNode(), "add");
        var outShape = node.InferShape([a, b]);
        var op = FloatOp.Create(node, [a, b], outShape);
        Assert.Equal(path, ((AddOp)op).Path);
        foreach (int batch in Batches)
        {
            int[] sa = Resolve(a, batch), sb = Resolve(b, batch), ys = Resolve(outShape, batch);
            float[] xa = RandomData(rng, Count(sa)), xb = RandomData(rng, Count(sb));
            var y = RunOp(op, [xa, xb], Count(ys), batch);
            AssertBitwise(ReferenceOps<float>.Add(RefTensor<float>.FromFloat(sa, xa), RefTensor<float>.FromFloat(sb, xb), ys).Data, y,
                $"add {Shapes.Format(a)} + {Shapes.Format(b)} batch {batch}");
            var exact = ReferenceOps<double>.Add(RefTensor<double>.FromFloat(sa, xa), RefTensor<double>.FromFloat(sb, xb), ys).Data;
            // One rounding of the exact sum.
            for (int i = 0; i < y.Length; i++) Assert.Equal((float)exact[i], y[i]);
        }
    }

    [Fact]
    public void Add_InPlaceOnTheFullOperand()
    {
        int[] a = [-1, 3, 4], b = [4];
        var node = Node(new AddNode(), "add-inplace");
        var op = FloatOp.Create(node, [a, b], node.InferShape([a, b]));
        var rng = new Random(5);
        var x = RandomData(rng, 24);
        var c = RandomData(rng, 4);
        var expected = ReferenceOps<float>.Add(RefTensor<float>.FromFloat([2, 3, 4], x), RefTensor<float>.FromFloat(b, c), [2, 3, 4]).Data;
        op.Run(new ReadOnlyMemory<float>[] { x, c }, x, 2);
        AssertBitwise(expected, x, "in place");
        Assert.Throws<ArgumentException>(() => op.Run(new ReadOnlyMemory<float>[] { x, x.AsMemory(1, 4) }, x, 2));
    }

    // ---- softmax -------------------------------------------------------------------------------

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(2)]
    public void Softmax_MatchesReference(int axis)
    {
        var rng = new Random(900 + axis);
        int[] shape = [-1, 5, 3, 7];
        var node = Node(new SoftmaxNode { Axis = axis }, "softmax");
        var outShape = node.InferShape([shape]);
        var op = FloatOp.Create(node, [shape], outShape);
        foreach (int batch in Batches)
            foreach (bool large in new[] { false, true })
            {
                int[] xs = Resolve(shape, batch);
                var x = RandomData(rng, Count(xs));
                if (large)
                    for (int i = 0; i < x.Length; i++)
                        switch (rng.Next(4))
                        {
                            case 0: x[i] = 1e30f; break;
                            case 1: x[i] = -1e30f; break;
                            case 2: x[i] = float.NegativeInfinity; break;
                        }
                var y = RunOp(op, [x], x.Length, batch);
                var exact = ReferenceOps<double>.Softmax(RefTensor<double>.FromFloat(xs, x), axis).Data;
                for (int i = 0; i < y.Length; i++)
                {
                    if (double.IsNaN(exact[i])) { Assert.True(float.IsNaN(y[i]), $"element {i}: {y[i]:R}, reference NaN"); continue; }
                    Assert.True(Math.Abs(y[i] - exact[i]) <= SoftmaxRelative * exact[i] + SoftmaxFloor,
                        $"softmax axis {axis} batch {batch} large={large}: element {i} is {y[i]:R}, exact {exact[i]:R}");
                }
            }
    }

    [Fact]
    public void Softmax_AllNegativeInfinityRowIsNaNLikeTheReference()
    {
        int[] shape = [2, 3];
        var node = Node(new SoftmaxNode { Axis = -1 }, "softmax-inf");
        float[] x = [float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, 1e30f, -1e30f, 0f];
        var y = RunOp(FloatOp.Create(node, [shape], shape), [x], 6, 1);
        AssertBitwise(ReferenceOps<float>.Softmax(RefTensor<float>.FromFloat(shape, x), -1).Data, y, "softmax -inf");
        Assert.True(float.IsNaN(y[0]));
        Assert.Equal([1f, 0f, 0f], y[3..]);
    }

    // ---- concat --------------------------------------------------------------------------------

    public static TheoryData<int, int[][]> ConcatCases() => new()
    {
        { 1, [[-1, 2, 3, 4], [-1, 5, 3, 4]] },
        { 1, [[-1, 2, 3], [-1, 1, 3], [-1, 4, 3]] },
        { -1, [[-1, 3, 2], [-1, 3, 5]] },
        { 3, [[-1, 2, 3, 1], [-1, 2, 3, 4], [-1, 2, 3, 2]] },
        { 0, [[2, 3], [1, 3], [4, 3]] },
        { 1, [[-1, 0, 3], [-1, 2, 3]] },
    };

    [Theory]
    [MemberData(nameof(ConcatCases))]
    public void Concat_MatchesReferenceExactly(int axis, int[][] shapes)
    {
        var rng = new Random(400 + axis + shapes.Length);
        var node = Node(new ConcatNode { Axis = axis }, "concat");
        var outShape = node.InferShape(shapes);
        var op = FloatOp.Create(node, shapes, outShape);
        foreach (int batch in Batches)
        {
            var xs = new float[shapes.Length][];
            var refs = new List<RefTensor<float>>();
            for (int k = 0; k < shapes.Length; k++)
            {
                var s = Resolve(shapes[k], batch);
                xs[k] = RandomData(rng, Count(s));
                refs.Add(RefTensor<float>.FromFloat(s, xs[k]));
            }
            var ys = Resolve(outShape, batch);
            var y = RunOp(op, xs, Count(ys), batch);
            AssertBitwise(ReferenceOps<float>.Concat(refs, axis, ys).Data, y, $"concat axis {axis} batch {batch}");
        }
    }

    // ---- activation ------------------------------------------------------------------------------

    [Fact]
    public void Activation_MatchesReference()
    {
        var rng = new Random(11);
        int[] shape = [-1, 3, 17];
        foreach (var act in new[] { Activation.Relu, Activation.Tanh })
        {
            var node = Node(new ActivationNode { Activation = act }, "act");
            var op = FloatOp.Create(node, [shape], shape);
            foreach (int batch in Batches)
            {
                var xs = Resolve(shape, batch);
                var x = RandomData(rng, Count(xs));
                var y = RunOp(op, [x], x.Length, batch);
                var exact = ReferenceOps<double>.Activate(RefTensor<double>.FromFloat(xs, x), act).Data;
                for (int i = 0; i < y.Length; i++)
                    if (act.Kind == ActivationKind.Relu) Assert.Equal(exact[i], (double)y[i]);
                    else Assert.True(Math.Abs(y[i] - exact[i]) <= TanhRelative * Math.Abs(exact[i]), $"tanh element {i}: {y[i]:R} vs {exact[i]:R}");
            }
        }
    }

    // ---- contract ------------------------------------------------------------------------------

    /// <summary>One op of every kind (and every Add path) with its input shapes.</summary>
    private static IEnumerable<(Node Node, int[][] Shapes)> AllOps()
    {
        yield return (Node(new PoolNode(true) { Kernel = [3, 3], Strides = [2, 2], Pads = [1, 1, 1, 1], Dilations = [1, 1], CeilMode = true }, "max"), [[-1, 3, 9, 8]]);
        yield return (Node(new PoolNode(false) { Kernel = [3], Strides = [2], Pads = [1, 1], Dilations = [2], CountIncludePad = true }, "avg"), [[-1, 3, 13]]);
        yield return (Node(new GlobalAveragePoolNode(), "gap"), [[-1, 4, 5, 5]]);
        yield return (Node(new AddNode(), "add-same"), [[-1, 4, 5], [-1, 4, 5]]);
        yield return (Node(new AddNode(), "add-scalar"), [[-1, 4, 5], [1]]);
        yield return (Node(new AddNode(), "add-channel"), [[-1, 4, 3, 3], [4, 1, 1]]);
        yield return (Node(new AddNode(), "add-general"), [[-1, 3, 1, 5], [1, 4, 1]]);
        yield return (Node(new SoftmaxNode { Axis = 1 }, "softmax-1"), [[-1, 5, 3, 2]]);
        yield return (Node(new SoftmaxNode { Axis = -1 }, "softmax-last"), [[-1, 5, 3, 2]]);
        yield return (Node(new ConcatNode { Axis = 1 }, "concat"), [[-1, 2, 3], [-1, 4, 3], [-1, 1, 3]]);
        yield return (Node(new ActivationNode { Activation = Activation.Tanh }, "tanh"), [[-1, 6, 5]]);
        yield return (Node(new ActivationNode { Activation = Activation.Relu }, "relu"), [[-1, 6, 5]]);
        yield return (Node(new LayerNormNode { Axis = -1 }, "layernorm"), [[-1, 3, 8], [8], [8]]);
        yield return (Node(new LayerNormNode { Axis = 1 }, "layernorm-noscale-bias"), [[-1, 3, 4], [3, 4]]);
        yield return (Node(new TransposeNode { Perm = [0, 3, 1, 2] }, "transpose"), [[-1, 5, 4, 3]]);
    }

    [Fact]
    public void Run_AllocatesNothing()
    {
        const int batch = 3;
        var rng = new Random(3);
        foreach (var (node, shapes) in AllOps())
        {
            var outShape = node.InferShape(shapes);
            var op = FloatOp.Create(node, shapes, outShape);
            var inputs = new ReadOnlyMemory<float>[shapes.Length];
            for (int i = 0; i < shapes.Length; i++) inputs[i] = RandomData(rng, Count(Resolve(shapes[i], batch)));
            var y = new float[Count(Resolve(outShape, batch))];
            op.Run(inputs, y, batch); // warm-up: JIT and any lazy statics
            op.Run(inputs, y, 0);
            var (allocated, windows) = SteadyStateAllocation.Least(() => { for (int r = 0; r < 100; r++) op.Run(inputs, y, batch); });
            Assert.True(allocated == 0, $"{op.Name} allocated {allocated} bytes in each of {windows} windows of 100 runs");
        }
    }

    [Fact]
    public void Run_RejectsShortSpans()
    {
        const int batch = 2;
        foreach (var (node, shapes) in AllOps())
        {
            var outShape = node.InferShape(shapes);
            var op = FloatOp.Create(node, shapes, outShape);
            var inputs = new ReadOnlyMemory<float>[shapes.Length];
            for (int i = 0; i < shapes.Length; i++) inputs[i] = new float[Count(Resolve(shapes[i], batch))];
            var y = new float[Count(Resolve(outShape, batch))];
            op.Run(inputs, y, batch);

            var e = Assert.Throws<ArgumentException>(() => op.Run(inputs, y.AsSpan(0, y.Length - 1), batch));
            Assert.Contains(node.Name, e.Message);
            Assert.Contains($"{y.Length - 1}", e.Message);
            for (int i = 0; i < shapes.Length; i++)
            {
                var shorter = (ReadOnlyMemory<float>[])inputs.Clone();
                shorter[i] = inputs[i][..^1];
                e = Assert.Throws<ArgumentException>(() => op.Run(shorter, y, batch));
                Assert.Contains($"input {i}", e.Message);
            }
            Assert.Throws<ArgumentException>(() => op.Run(inputs[..^1], y, batch));
            Assert.ThrowsAny<ArgumentException>(() => op.Run(inputs, y, -1));
            // Batch 0 needs no elements of a batched value (a static constant still needs its own) and writes nothing.
            var empty = new ReadOnlyMemory<float>[shapes.Length];
            for (int i = 0; i < shapes.Length; i++) empty[i] = new float[Count(Resolve(shapes[i], 0))];
            op.Run(empty, Span<float>.Empty, 0);
        }
    }

    [Fact]
    public void Create_RejectsOtherNodesAndWrongShapes()
    {
        var dense = Node(new DenseNode(), "fc1");
        var e = Assert.Throws<EmaException>(() => FloatOp.Create(dense, [[-1, 4], [3, 4]], [-1, 3]));
        Assert.Contains("fc1", e.Message);
        var add = Node(new AddNode(), "bad-add");
        e = Assert.Throws<EmaException>(() => FloatOp.Create(add, [[-1, 4], [4]], [-1, 5]));
        Assert.Contains("bad-add", e.Message);
        Assert.Throws<EmaException>(() => FloatOp.Create(Node(new FlattenNode(), "flat"), [[-1, 2, 3]], [-1, 6]));
    }
}
