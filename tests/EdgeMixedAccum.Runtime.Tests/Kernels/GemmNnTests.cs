using EdgeMixedAccum.Runtime.Kernels;
using Xunit.Abstractions;

namespace EdgeMixedAccum.Runtime.Tests.Kernels;

/// <summary>The shared testers of the two column-panel GEMM families (conv in output layout): every entry of
/// I8GemmNnFamily.Variants and F32GemmNnFamily.Variants against its golden table (bit-exact: int8 sums are
/// exact, fp32 steps are fused in one fixed order) and against the scalar reference on random shapes with
/// padded panels and offsets; argument checks. Unsupported variants return early, logged as skipped.</summary>
public class GemmNnTests(ITestOutputHelper output)
{
    public static TheoryData<string> I8Names() => [.. I8GemmNnFamily.Variants.Select(v => v.Name)];
    public static TheoryData<string> F32Names() => [.. F32GemmNnFamily.Variants.Select(v => v.Name)];
    public static TheoryData<string> I8QuadNames() => [.. I8GemmNn4Family.Variants.Select(v => v.Name)];

    [Theory, MemberData(nameof(I8QuadNames))]
    public void I8QuadGoldenVectorsExact(string name)
    {
        if (Supported(I8GemmNn4Family.Variants, name) is not { } v) return;
        Assert.Null(I8GemmNnGolden.Check(v.Fn));
    }

    [Theory, MemberData(nameof(I8QuadNames))]
    public void I8QuadRandomShapesEqualTheScalarReference(string name)
    {
        if (Supported(I8GemmNn4Family.Variants, name) is not { } v) return;
        var rng = new Random(20261207);
        for (int t = 0; t < 120; t++)
        {
            int rows = rng.Next(0, 30), kq = rng.Next(0, 80), n = rng.Next(0, 90), ldx = n + rng.Next(0, 5), off = rng.Next(0, 3);
            var wq = new int[rows * kq];
            var xq = new int[off + kq * ldx];
            int B() => rng.Next(4) == 0 ? (rng.Next(2) == 0 ? 127 : -127) : rng.Next(-127, 128);
            for (int i = 0; i < wq.Length; i++) wq[i] = I8GemmNn4Pack.Quad(B(), B(), B(), B());
            for (int i = 0; i < xq.Length; i++) xq[i] = I8GemmNn4Pack.Quad(B(), B(), B(), B());
            var got = new int[rows * n + 3];
            var want = new int[rows * n + 3];
            Array.Fill(got, 12345); Array.Fill(want, 12345);
            var x = xq.AsSpan(off, kq == 0 || n == 0 ? 0 : (kq - 1) * ldx + n);
            v.Fn(wq, x, got.AsSpan(0, rows * n), rows, kq, n, ldx);
            I8GemmNn4Family.Variants[0].Fn(wq, x, want.AsSpan(0, rows * n), rows, kq, n, ldx);
            Assert.Equal(want, got); // the 3 trailing markers too: nothing written past rows*n
        }
    }

    [Fact]
    public void QuadPackRoundTripsAndKeepsSigns()
    {
        foreach (var (a, b, c, d) in new[] { (-127, 127, 0, -1), (127, -127, -1, 0), (0, 0, 0, -127), (5, -5, 100, -100) })
        {
            int p = I8GemmNn4Pack.Quad(a, b, c, d);
            Assert.Equal((a, b, c, d), (I8GemmNn4Pack.Byte(p, 0), I8GemmNn4Pack.Byte(p, 1), I8GemmNn4Pack.Byte(p, 2), I8GemmNn4Pack.Byte(p, 3)));
        }
        foreach (var v in I8GemmNn4Family.Variants.Where(v => v.Supported))
        {
            Assert.Throws<ArgumentException>(() => v.Fn(new int[8], new int[10], new int[8], 2, 4, 4, 4)); // xq needs 16
            Assert.Throws<ArgumentException>(() => v.Fn(new int[8], new int[16], new int[8], 2, 4, 5, 4)); // ldx < n
            Assert.Throws<ArgumentException>(() => v.Fn(new int[8], new int[16], new int[7], 2, 4, 4, 4)); // dot needs 8
        }
    }

    private KernelVariant<T>? Supported<T>(IReadOnlyList<KernelVariant<T>> all, string name) where T : Delegate
    {
        var v = all.Single(v => v.Name == name);
        if (v.Supported) { output.WriteLine($"testing {v.Name} ({v.Isa})"); return v; }
        output.WriteLine($"SKIPPED {v.Name}: this CPU lacks {v.Isa} ({CpuFeatures.Describe()})");
        return null;
    }

    [Fact]
    public void GoldenTablesMatchTheirCommittedCrcs()
    {
        Assert.True(I8GemmNnGolden.VerifyPin() is null, $"{I8GemmNnGolden.VerifyPin()}");
        Assert.True(F32GemmNnGolden.VerifyPin() is null, $"{F32GemmNnGolden.VerifyPin()}");
    }

    [Theory, MemberData(nameof(I8Names))]
    public void I8GoldenVectorsExact(string name)
    {
        if (Supported(I8GemmNnFamily.Variants, name) is not { } v) return;
        Assert.Null(I8GemmNnGolden.Check(v.Fn));
    }

    [Theory, MemberData(nameof(F32Names))]
    public void F32GoldenVectorsBitExactToTheFusedOrder(string name)
    {
        if (Supported(F32GemmNnFamily.Variants, name) is not { } v) return;
        Assert.Null(F32GemmNnGolden.Check(v.Fn));
    }

    [Fact]
    public void F32ReferenceIsTheFusedOrderNotAnotherOne()
    {
        // Guard against a vacuous comparison: an unfused sum differs from the pinned fused bits on some case.
        int differ = 0;
        foreach (var c in F32GemmNnGolden.Cases.Where(c => c.K >= 9 && c.N > 0 && c.Rows > 0))
            for (int i = 0; i < c.Rows; i++)
                for (int q = 0; q < c.N; q++)
                {
                    float acc = 0;
                    for (int j = 0; j < c.K; j++) acc += c.W[i * c.K + j] * c.X[j * c.Ldx + q];
                    if (BitConverter.SingleToInt32Bits(acc) != BitConverter.SingleToInt32Bits(c.Reference[i * c.N + q])) differ++;
                }
        Assert.True(differ > 100, $"only {differ} outputs differ between the fused and unfused orders");
    }

    [Theory, MemberData(nameof(I8Names))]
    public void I8RandomShapesEqualTheScalarReference(string name)
    {
        if (Supported(I8GemmNnFamily.Variants, name) is not { } v) return;
        var rng = new Random(20261203);
        for (int t = 0; t < 120; t++)
        {
            int rows = rng.Next(0, 30), kp = rng.Next(0, 150), n = rng.Next(0, 90), ldx = n + rng.Next(0, 5), off = rng.Next(0, 3);
            var wp = new int[rows * kp];
            var xp = new int[off + kp * ldx];
            for (int i = 0; i < wp.Length; i++) wp[i] = I8GemmNnPack.Pair(rng.Next(-127, 128), rng.Next(-127, 128));
            for (int i = 0; i < xp.Length; i++) xp[i] = I8GemmNnPack.Pair(rng.Next(-127, 128), rng.Next(-127, 128));
            var got = new int[rows * n + 3];
            var want = new int[rows * n + 3];
            Array.Fill(got, 12345); Array.Fill(want, 12345);
            var x = xp.AsSpan(off, kp == 0 || n == 0 ? 0 : (kp - 1) * ldx + n);
            v.Fn(wp, x, got.AsSpan(0, rows * n), rows, kp, n, ldx);
            I8GemmNnFamily.Variants[0].Fn(wp, x, want.AsSpan(0, rows * n), rows, kp, n, ldx);
            Assert.Equal(want, got); // the 3 trailing markers too: nothing written past rows*n
        }
    }

    [Theory, MemberData(nameof(F32Names))]
    public void F32RandomShapesEqualTheScalarReference(string name)
    {
        if (Supported(F32GemmNnFamily.Variants, name) is not { } v) return;
        var rng = new Random(20261204);
        for (int t = 0; t < 120; t++)
        {
            int rows = rng.Next(0, 30), k = rng.Next(0, 300), n = rng.Next(0, 90), ldx = n + rng.Next(0, 5), off = rng.Next(0, 3);
            var w = new float[rows * k];
            var x = new float[off + k * ldx];
            for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() * 2 - 1);
            for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * MathF.ScaleB(1, rng.Next(-8, 8));
            var got = new float[rows * n + 3];
            var want = new float[rows * n + 3];
            var xs = x.AsSpan(off, k == 0 || n == 0 ? 0 : (k - 1) * ldx + n);
            v.Fn(w, xs, got.AsSpan(0, rows * n), rows, k, n, ldx);
            F32GemmNnFamily.Variants[0].Fn(w, xs, want.AsSpan(0, rows * n), rows, k, n, ldx);
            Assert.Equal(want.Select(BitConverter.SingleToInt32Bits), got.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void PackRoundTripsAndKeepsSigns()
    {
        foreach (var (lo, hi) in new[] { (-127, 127), (127, -127), (0, -1), (-1, 0), (5, 0) })
        {
            int p = I8GemmNnPack.Pair(lo, hi);
            Assert.Equal((lo, hi), (I8GemmNnPack.Lo(p), I8GemmNnPack.Hi(p)));
        }
    }

    [Fact]
    public void ShortBuffersAreRefusedBeforeAnyRead()
    {
        foreach (var v in I8GemmNnFamily.Variants.Where(v => v.Supported))
        {
            Assert.Throws<ArgumentException>(() => v.Fn(new int[8], new int[10], new int[8], 2, 4, 4, 4)); // xp needs 16
            Assert.Throws<ArgumentException>(() => v.Fn(new int[8], new int[16], new int[8], 2, 4, 5, 4)); // ldx < n
            Assert.Throws<ArgumentException>(() => v.Fn(new int[8], new int[16], new int[7], 2, 4, 4, 4)); // dot needs 8
        }
        foreach (var v in F32GemmNnFamily.Variants.Where(v => v.Supported))
        {
            Assert.Throws<ArgumentException>(() => v.Fn(new float[8], new float[10], new float[8], 2, 4, 4, 4));
            Assert.Throws<ArgumentException>(() => v.Fn(new float[7], new float[16], new float[8], 2, 4, 4, 4));
            Assert.Throws<ArgumentException>(() => v.Fn(new float[8], new float[16], new float[8], 2, 4, 4, 3));
        }
    }
}
