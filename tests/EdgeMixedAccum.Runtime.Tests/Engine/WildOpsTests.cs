using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Reference;
using EdgeMixedAccum.Runtime.Engine.Ops;

namespace EdgeMixedAccum.Runtime.Tests.Engine;

/// <summary>The runtime's LayerNorm and Transpose ops against the naive fp64 reference (ReferenceOps): LayerNorm
/// within a few fp32 roundings of the fp64 result (also in place, also with a large mean that cancels), Transpose
/// bit for bit, on batched and static shapes.</summary>
public class WildOpsTests
{
    private static float[] Random(Random rng, long n, float offset = 0, float scale = 3)
    {
        var d = new float[n];
        for (int i = 0; i < n; i++) d[i] = offset + (float)(rng.NextDouble() * 2 - 1) * scale;
        return d;
    }

    [Theory]
    [InlineData(new[] { -1, 4, 16 }, -1, 0f, true)]
    [InlineData(new[] { -1, 3, 5, 6 }, 2, 0f, true)]
    [InlineData(new[] { -1, 128 }, -1, 1000f, false)] // mean 1000, spread 3: fp32 sums would cancel badly
    [InlineData(new[] { 2, 3, 7 }, 1, 0f, true)]       // a static shape: dim 0 is data, not the batch
    public void LayerNorm_MatchesTheFp64Reference(int[] shape, int axis, float offset, bool withBias)
    {
        var rng = new Random(shape.Sum() + axis);
        var node = new LayerNormNode { Name = "ln", Axis = axis, Epsilon = 1e-5f };
        int first = node.FirstAxis(shape.Length);
        var norm = shape[first..];
        int[][] shapes = withBias ? [shape, norm, norm] : [shape, norm];
        var op = FloatOp.Create(node, shapes, (int[])shape.Clone());
        foreach (int batch in new[] { 1, 3 })
        {
            var xs = Shapes.Resolve(shape, batch);
            var x = Random(rng, Shapes.Elements(xs, "x"), offset);
            var scale = Random(rng, Shapes.Elements(norm, "s"), 1, 0.5f);
            var bias = Random(rng, Shapes.Elements(norm, "b"), 0, 0.5f);
            var y = new float[x.Length];
            op.Run(withBias ? [x, scale, bias] : [x, scale], y, batch);
            var r = ReferenceOps<double>.LayerNorm(RefTensor<double>.FromFloat(xs, x), RefTensor<double>.FromFloat(norm, scale),
                withBias ? RefTensor<double>.FromFloat(norm, bias) : null, first, 1e-5f);
            int n = (int)Shapes.Elements(norm, "n");
            for (int i = 0; i < y.Length; i++)
            {
                // |y| is O(|scale| * 3) here; 16 fp32 roundings of that and of |x - mean| / sd is generous but not loose.
                double tol = 16 * Math.Pow(2, -24) * (Math.Abs(r.Data[i]) + 4 + Math.Abs(offset) / 1.7 * Math.Abs(scale[i % n]));
                Assert.True(Math.Abs(y[i] - r.Data[i]) <= tol, $"element {i}: {y[i]} vs fp64 {r.Data[i]}");
            }
            // In place: the output span may be the input.
            var inPlace = (float[])x.Clone();
            op.Run(withBias ? [inPlace, scale, bias] : [inPlace, scale], inPlace, batch);
            Assert.Equal(y, inPlace);
        }
    }

    [Theory]
    [InlineData(new[] { -1, 5, 4, 3 }, new[] { 0, 3, 1, 2 })] // NHWC -> NCHW
    [InlineData(new[] { -1, 3, 5, 4 }, new[] { 0, 2, 3, 1 })] // NCHW -> NHWC
    [InlineData(new[] { -1, 2, 3, 4, 5 }, new[] { 0, 4, 2, 1, 3 })]
    [InlineData(new[] { 2, 3, 4 }, new[] { 2, 0, 1 })]        // static: dim 0 may move
    public void Transpose_MatchesTheReferenceBitForBit(int[] shape, int[] perm)
    {
        var rng = new Random(perm.Sum() * 7 + shape.Length);
        var node = new TransposeNode { Name = "t", Perm = perm };
        var outShape = node.InferShape([shape]);
        var op = FloatOp.Create(node, [shape], outShape);
        foreach (int batch in new[] { 1, 2 })
        {
            var xs = Shapes.Resolve(shape, batch);
            var x = Random(rng, Shapes.Elements(xs, "x"));
            var y = new float[x.Length];
            op.Run([x], y, batch);
            var r = ReferenceOps<float>.Transpose(RefTensor<float>.FromFloat(xs, x), perm, Shapes.Resolve(outShape, batch));
            Assert.Equal(r.Data, y);
        }
    }

    [Fact]
    public void Transpose_ThatMovesTheSymbolicBatchIsRefusedNamingTheNode()
    {
        var node = new TransposeNode { Name = "nhwc", Perm = [1, 0, 2] };
        var e = Assert.Throws<EmaException>(() => node.InferShape([[-1, 3, 4]]));
        Assert.Contains("nhwc", e.Message);
        Assert.Contains("batch", e.Message);
    }
}
