using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Tests.Format;

namespace EdgeMixedAccum.Tests.Graph;

public class TensorDataTests
{
    /// <summary>The exact stored value of element <paramref name="i"/> in fp64 (int8: q x scale, exact in fp64).</summary>
    private static double Exact(TensorData t, long i)
    {
        switch (t.DType)
        {
            case TensorDType.Float32: return t.AsFloat32()[(int)i];
            case TensorDType.Float16: return (double)t.AsFloat16()[(int)i];
            default:
                int rows = t.Shape.Length == 0 ? 1 : t.Shape[0];
                long len = rows == 0 ? 0 : t.ElementCount / rows;
                return t.AsInt8()[(int)i] * (double)t.Scales[(int)(i / len)];
        }
    }

    /// <summary>Row statistics are the fp64 norms of the exact stored rows, rounded up to fp32: never below the
    /// fp64 value and less than one fp32 ulp above it.</summary>
    private static void AssertRowStats(TensorData t)
    {
        Assert.True(t.HasRowStats);
        int rows = t.Shape[0];
        long len = t.ElementCount / Math.Max(1, rows);
        Assert.Equal(rows, t.Rows);
        Assert.Equal(len, t.RowLength);
        Assert.Equal(rows, t.RowL1.Length);
        Assert.Equal(rows, t.RowL2.Length);
        for (int r = 0; r < rows; r++)
        {
            double l1 = 0, sq = 0;
            for (long j = 0; j < len; j++)
            {
                double v = Exact(t, r * len + j);
                l1 += Math.Abs(v);
                sq += v * v;
            }
            double l2 = Math.Sqrt(sq);
            AssertTightUpperBound(t.RowL1[r], l1, $"{t.Name} row {r} L1");
            AssertTightUpperBound(t.RowL2[r], l2, $"{t.Name} row {r} L2");
        }
    }

    private static void AssertTightUpperBound(float stat, double exact, string what)
    {
        Assert.True(stat >= exact, $"{what}: {stat:R} is below the fp64 value {exact:R}");
        Assert.True(MathF.BitDecrement(stat) < exact || stat == 0, $"{what}: {stat:R} is more than one ulp above {exact:R}");
    }

    public static TheoryData<TensorDType, int[]> StatCases()
    {
        var d = new TheoryData<TensorDType, int[]>();
        foreach (var t in Enum.GetValues<TensorDType>())
            foreach (var s in new[] { new[] { 1, 1 }, [3, 4], [8, 3, 3, 3], [5, 2, 7], [4, 0], [0, 5], [16, 257] })
                d.Add(t, s);
        return d;
    }

    [Theory]
    [MemberData(nameof(StatCases))]
    public void RowStats_AreTightUpperBoundsOfTheFp64Norms(TensorDType dtype, int[] shape)
    {
        var rng = new Random(shape.Sum() * 31 + (int)dtype);
        for (int k = 0; k < 5; k++) AssertRowStats(RandomModels.RandomTensor(rng, "t", dtype, shape));
    }

    [Fact]
    public void RowStats_RoundUp_WhenTheFp64NormIsNotAnFp32()
    {
        // 1 + 2^-30 rounds to 1 in fp32 to nearest; the stored bound must be the next float up.
        var t = TensorData.FromFloat32("t", [1, 2], [1f, MathF.Pow(2, -30)]);
        Assert.Equal(MathF.BitIncrement(1f), t.RowL1[0]);
        Assert.Equal(1f, t.RowL2[0]); // 1 + 2^-60 is 1 in fp64 already
        // sqrt(1 + 2^-24) = 1 + 2^-25 - ..., which rounds to 1 in fp32: stored as the next float up.
        var u = TensorData.FromFloat32("u", [1, 2], [1f, MathF.Pow(2, -12)]);
        Assert.Equal(1f + MathF.Pow(2, -12), u.RowL1[0]);
        Assert.Equal(MathF.BitIncrement(1f), u.RowL2[0]);
        // Exactly representable norms stay exact.
        var e = TensorData.FromFloat32("e", [2, 2], [3f, -4f, 0f, -0f]);
        Assert.Equal([7f, 0f], e.RowL1.ToArray());
        Assert.Equal([5f, 0f], e.RowL2.ToArray());
    }

    [Fact]
    public void RowStats_OfInt8_BoundTheExactDequantisedValues()
    {
        // q x scale is exact in fp64 but not in fp32; the norm must bound the exact product, not the fp32-rounded one.
        var rng = new Random(17);
        int found = 0;
        for (int k = 0; k < 2000 && found < 50; k++)
        {
            float s = (float)(rng.NextDouble() * 0.01 + 1e-4);
            sbyte q = (sbyte)rng.Next(-127, 128);
            double exact = q * (double)s;
            if ((double)(float)exact >= Math.Abs(exact) || q == 0) continue; // want fp32 rounding below |exact|
            found++;
            var t = TensorData.FromInt8("q", [1, 1], [q], [s]);
            AssertTightUpperBound(t.RowL1[0], Math.Abs(exact), $"q={q} s={s:R} L1");
            AssertTightUpperBound(t.RowL2[0], Math.Abs(exact), $"q={q} s={s:R} L2");
        }
        Assert.True(found >= 50);
    }

    [Fact]
    public void RowStats_AbsentBelowRank2()
    {
        foreach (var shape in new[] { Array.Empty<int>(), [5] })
        {
            var t = TensorData.FromFloat32("v", shape, new float[shape.Length == 0 ? 1 : shape[0]]);
            Assert.False(t.HasRowStats);
            Assert.Equal(0, t.Rows);
            Assert.Equal(0, t.RowLength);
            Assert.True(t.RowL1.IsEmpty);
            Assert.True(t.RowL2.IsEmpty);
        }
    }

    [Fact]
    public void ToFloat32_DequantisesInt8_WithPerRowScales()
    {
        sbyte[] q = [1, -2, 3, 127, -127, 0, 5, 6, 7, 8, 9, -10];
        float[] s = [0.5f, 0.1f, 3f];
        var t = TensorData.FromInt8("q", [3, 2, 2], q, s);
        var f = t.ToFloat32();
        Assert.Equal(12, f.Length);
        for (int i = 0; i < 12; i++) Assert.Equal(q[i] * s[i / 4], f[i]);
        Assert.Equal(-1f, f[1]);          // row 0, scale 0.5
        Assert.Equal(-127 * 0.1f, f[4]);  // row 1, scale 0.1
        Assert.Equal(-30f, f[11]);        // row 2, scale 3
    }

    [Fact]
    public void ToFloat32_Int8_Rank1HasOneScalePerElement_Rank0HasOne()
    {
        Assert.Equal(3, TensorData.ScaleCount([3]));
        Assert.Equal(1, TensorData.ScaleCount([]));
        Assert.Equal(4, TensorData.ScaleCount([4, 9]));
        var v = TensorData.FromInt8("v", [3], [10, -20, 30], [1f, 0.5f, 0.25f]);
        Assert.Equal([10f, -10f, 7.5f], v.ToFloat32());
        var s = TensorData.FromInt8("s", [], [-7], [2f]);
        Assert.Equal([-14f], s.ToFloat32());
    }

    [Fact]
    public void ToFloat32_WidensFp16_AndCopiesFp32()
    {
        Half[] h = [(Half)1.5f, Half.Epsilon, (Half)(-65504f), (Half)(-0f)];
        var t = TensorData.FromFloat16("h", [2, 2], h);
        var f = t.ToFloat32();
        for (int i = 0; i < h.Length; i++) Assert.Equal(BitConverter.SingleToInt32Bits((float)h[i]), BitConverter.SingleToInt32Bits(f[i]));
        float[] x = [1f, -0f, float.Epsilon, 3.25f];
        Assert.Equal(x, TensorData.FromFloat32("x", [4], x).ToFloat32());
    }

    [Fact]
    public void Factories_CopyAndCheckTheirInput()
    {
        var values = new float[] { 1, 2, 3, 4 };
        var t = TensorData.FromFloat32("t", [2, 2], values);
        values[0] = 100;
        Assert.Equal(1f, t.AsFloat32()[0]);
        var shape = new[] { 2, 2 };
        var u = TensorData.FromFloat32("u", shape, new float[4]);
        shape[0] = 9;
        Assert.Equal([2, 2], u.Shape);
        Assert.Throws<ArgumentException>(() => TensorData.FromFloat32("bad", [2, 3], new float[5]));
        Assert.Throws<ArgumentException>(() => TensorData.FromInt8("bad", [2, 3], new sbyte[6], [1f]));
        Assert.Throws<ArgumentException>(() => TensorData.FromFloat16("bad", [1], new Half[2]));
        Assert.Throws<EmaException>(() => TensorData.FromFloat32("neg", [-1, 2], []));
        Assert.Throws<EmaException>(() => TensorData.FromFloat32("huge", [1 << 16, 1 << 16], []));
        Assert.Throws<InvalidOperationException>(() => t.AsInt8().Length);
        Assert.Throws<InvalidOperationException>(() => t.AsFloat16().Length);
    }
}
