using System.Diagnostics;
using EdgeMixedAccum.Runtime.Kernels;
using EdgeMixedAccum.Tests;
using Xunit.Abstractions;

namespace EdgeMixedAccum.Runtime.Tests.Kernels;

/// <summary>The shared f32-gemm tester: every entry of F32GemmFamily.Variants against the golden table and
/// random shapes within the named budget gamma_k(2^-24)*sum|w||x| (the scalar reference also bit-exact to its
/// pinned order), plus guard-page bounds, argument, allocation and NaN/Inf checks. Unsupported variants return
/// early, logged as skipped.</summary>
public class F32GemmTests(ITestOutputHelper output)
{
    public static TheoryData<string> VariantNames() => [.. F32GemmFamily.Variants.Select(v => v.Name)];

    private KernelVariant<F32GemmFn>? Supported(string name)
    {
        var v = F32GemmFamily.Variants.Single(v => v.Name == name);
        if (v.Supported) { output.WriteLine($"testing {v.Name} ({v.Isa})"); return v; }
        output.WriteLine($"SKIPPED {v.Name}: this CPU lacks {v.Isa} ({CpuFeatures.Describe()})");
        return null;
    }

    [Fact]
    public void GoldenTableMatchesItsCommittedCrc() =>
        Assert.True(F32GemmGolden.VerifyPin() is null, $"{F32GemmGolden.VerifyPin()}");

    [Fact]
    public void GoldenTableCoversTheShapes()
    {
        var shapes = F32GemmGolden.Cases.Select(c => (c.Rows, c.K, c.N)).ToHashSet();
        foreach (int k in new[] { 0, 1, 15, 16, 17, 63, 64, 65, 300, 784 })
            for (int rows = 0; rows <= 9; rows++)
                foreach (int n in new[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 17 })
                    Assert.Contains((rows, k, n), shapes);
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void GoldenVectorsWithinBudget(string name)
    {
        if (Supported(name) is not { } v) return;
        Assert.Null(F32GemmGolden.Check(v.Fn, bitExactToScalar: v.Isa == Isa.Scalar));
    }

    [Fact]
    public void BudgetIsTightEnoughToCatchAWrongColumn()
    {
        // Guard against a vacuous budget: dropping one term of a unit-range case must exceed it.
        var c = F32GemmGolden.Make(F32GemmGolden.Pattern.Unit, 1, 65, 1);
        double dropped = c.Exact[0] - (double)c.W[64] * c.X[64];
        Assert.True(Math.Abs(dropped - c.Exact[0]) > F32GemmGolden.Budget(65, c.SumAbs[0]));
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void RandomShapesAgainstFp64(string name)
    {
        if (Supported(name) is not { } v) return;
        var rng = new Random(20261203);
        for (int t = 0; t < 150; t++)
        {
            int rows = rng.Next(0, 40), k = rng.Next(0, 200), n = rng.Next(0, 24);
            if (t % 10 == 0) (rows, k, n) = (rng.Next(60, 140), rng.Next(700, 1100), rng.Next(30, 70));
            var c = F32GemmGolden.Make((F32GemmGolden.Pattern)(t % 3), rows, k, n);
            var y = new float[n * rows];
            Array.Fill(y, float.NaN);
            v.Fn(c.W, c.X, y, rows, k, n);
            Assert.Null(F32GemmGolden.Compare(c, y, bitExactToScalar: v.Isa == Isa.Scalar));
        }
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void LongerSpansAreReadOnlyUpToTheShape(string name)
    {
        // Spans longer than the shape: the extra tail of w and x is never used and the extra tail of y is untouched.
        if (Supported(name) is not { } v) return;
        var c = F32GemmGolden.Make(F32GemmGolden.Pattern.Unit, 7, 65, 5);
        var w = c.W.Concat(Enumerable.Repeat(float.NaN, 40)).ToArray();
        var x = c.X.Concat(Enumerable.Repeat(float.NaN, 40)).ToArray();
        var y = Enumerable.Repeat(-7f, 7 * 5 + 9).ToArray();
        v.Fn(w, x, y, 7, 65, 5);
        Assert.Null(F32GemmGolden.Compare(c, y.AsSpan(0, 35), bitExactToScalar: v.Isa == Isa.Scalar));
        Assert.All(y[35..], e => Assert.Equal(-7f, e));
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void SameBitsWhereverAnOutputSitsInATile(string name)
    {
        // The stated order belongs to the output, not to its tile: each output computed alone (rows = n = 1)
        // has the bits it has inside a full, clamped or edge tile.
        if (Supported(name) is not { } v) return;
        foreach (var (rows, k, n) in new[] { (9, 65, 7), (5, 300, 17), (4, 16, 4), (3, 1, 2) })
        {
            var c = F32GemmGolden.Make(F32GemmGolden.Pattern.WideRange, rows, k, n);
            var y = new float[n * rows];
            v.Fn(c.W, c.X, y, rows, k, n);
            var one = new float[1];
            for (int s = 0; s < n; s++)
                for (int i = 0; i < rows; i++)
                {
                    v.Fn(c.W.AsSpan(i * k, k), c.X.AsSpan(s * k, k), one, 1, k, 1);
                    Assert.True(BitConverter.SingleToInt32Bits(one[0]) == BitConverter.SingleToInt32Bits(y[s * rows + i]),
                        $"rows={rows} k={k} n={n} s={s} i={i}: alone {one[0]:R}, in a tile {y[s * rows + i]:R}");
                }
        }
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void RejectsBadShapesAndShortSpans(string name)
    {
        if (Supported(name) is not { } v) return;
        var w = new float[3 * 20];
        var x = new float[2 * 20];
        var y = new float[2 * 3];
        v.Fn(w, x, y, 3, 20, 2); // exact sizes are fine
        Assert.Throws<ArgumentOutOfRangeException>(() => v.Fn(w, x, y, -1, 20, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => v.Fn(w, x, y, 3, -1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => v.Fn(w, x, y, 3, 20, -1));
        Assert.Throws<ArgumentException>(() => v.Fn(w.AsSpan(1), x, y, 3, 20, 2));
        Assert.Throws<ArgumentException>(() => v.Fn(w, x.AsSpan(1), y, 3, 20, 2));
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, y.AsSpan(1), 3, 20, 2));
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, y, 4, 20, 2));
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, y, 3, 21, 2));
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, y, 3, 20, 3));
        // rows*k overflowing int must not wrap past the check
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, y, 1 << 16, 1 << 16, 0));
        // empty shapes need no memory at all
        v.Fn([], [], [], 0, 0, 0);
        v.Fn([], [], [], 5, 0, 0);
        v.Fn([], [], [], 0, 7, 0);
        var z = new float[6];
        Array.Fill(z, float.NaN);
        v.Fn([], [], z, 3, 0, 2);
        Assert.All(z, e => Assert.Equal(0f, e));
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void NeverTouchesMemoryPastTheSpans(string name)
    {
        // w, x and y each end exactly at a PROT_NONE page: any over-read or over-write faults.
        if (Supported(name) is not { } v) return;
        using var wMem = new GuardedBuffer<float>(F32GemmGolden.MaxRows * 784);
        using var xMem = new GuardedBuffer<float>(17 * 784);
        using var yMem = new GuardedBuffer<float>(17 * F32GemmGolden.MaxRows);
        foreach (var c in F32GemmGolden.Cases.Where(c => c.K <= 65 || (c.Rows % 4 != 0 && c.N % 4 != 0)))
        {
            var w = wMem.Tail(c.W.Length); c.W.CopyTo(w);
            var x = xMem.Tail(c.X.Length); c.X.CopyTo(x);
            var y = yMem.Tail(c.Exact.Length);
            v.Fn(w, x, y, c.Rows, c.K, c.N);
            Assert.Null(F32GemmGolden.Compare(c, y, bitExactToScalar: v.Isa == Isa.Scalar));
        }
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void ZeroAllocationsPerCall(string name)
    {
        if (Supported(name) is not { } v) return;
        var c = F32GemmGolden.Make(F32GemmGolden.Pattern.Unit, 9, 65, 7);
        var y = new float[c.Exact.Length];
        var fn = v.Fn;
        fn(c.W, c.X, y, 9, 65, 7);
        var (allocated, _) = SteadyStateAllocation.Least(() => { for (int i = 0; i < 1000; i++) fn(c.W, c.X, y, 9, 65, 7); });
        Assert.Equal(0, allocated);
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void NaNAndInfPropagate(string name)
    {
        if (Supported(name) is not { } v) return;
        const int rows = 9, n = 6;
        foreach (int k in new[] { 1, 17, 65, 300 })
            for (int j = 0; j < k; j += Math.Max(1, k / 5))
            {
                // Positive inputs: nothing cancels, so a NaN or an Inf must survive every summation order.
                var rng = new Random(k * 1000 + j);
                var w = Enumerable.Range(0, rows * k).Select(_ => 0.25f + (float)rng.NextDouble()).ToArray();
                var x = Enumerable.Range(0, n * k).Select(_ => 0.25f + (float)rng.NextDouble()).ToArray();
                int sNaN = j % n, iInf = (j + 2) % rows, sInfX = (sNaN + 1) % n;
                x[sNaN * k + j] = float.NaN;          // every output of input vector sNaN is NaN
                w[iInf * k + j] = float.PositiveInfinity; // every other output of row iInf is +Inf
                x[sInfX * k + (k - 1 - j)] = float.NegativeInfinity; // ... and all of vector sInfX is -Inf, but +Inf + -Inf is NaN
                var y = new float[n * rows];
                v.Fn(w, x, y, rows, k, n);
                for (int s = 0; s < n; s++)
                    for (int i = 0; i < rows; i++)
                    {
                        float e = y[s * rows + i];
                        string at = $"k={k} j={j} s={s} i={i}: {e}";
                        if (s == sNaN) Assert.True(float.IsNaN(e), at);
                        else if (i == iInf && s == sInfX) // +Inf*-Inf in one column (k = 1) is -Inf, else +Inf + -Inf
                            Assert.True(j == k - 1 - j ? float.IsNegativeInfinity(e) : float.IsNaN(e), at);
                        else if (i == iInf) Assert.True(float.IsPositiveInfinity(e), at);
                        else if (s == sInfX) Assert.True(float.IsNegativeInfinity(e), at);
                        else Assert.True(float.IsFinite(e), at);
                    }
            }
    }

    [Fact]
    public void VariantsThatMustRunHere()
    {
        var ran = F32GemmFamily.Variants.Where(v => v.Supported).Select(v => v.Name).ToList();
        output.WriteLine($"{CpuFeatures.Describe()}; f32-gemm variants tested: {string.Join(", ", ran)}");
        if (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64)
            foreach (var isa in new[] { Isa.Scalar, Isa.Vector128, Isa.Avx2 })
                Assert.Contains(F32GemmFamily.Variants, v => v.Isa == isa && v.Supported);
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
            Assert.Contains(F32GemmFamily.Variants, v => v.Isa == Isa.Avx512BW && v.Supported);
    }

    [Fact]
    public void SelfTestPasses()
    {
        var results = F32GemmFamily.Instance.SelfTest().ToList();
        foreach (var r in results) output.WriteLine($"{r.Variant}: {(r.Ok ? "ok" : "FAIL")} {r.Detail}");
        Assert.All(results, r => Assert.True(r.Ok, r.Detail));
        Assert.Equal(F32GemmFamily.Variants.Count(v => v.Supported), results.Count);
    }
}
