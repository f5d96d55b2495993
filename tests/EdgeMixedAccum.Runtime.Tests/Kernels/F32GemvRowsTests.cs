using EdgeMixedAccum.Runtime.Kernels;
using EdgeMixedAccum.Tests;
using Xunit.Abstractions;

namespace EdgeMixedAccum.Runtime.Tests.Kernels;

/// <summary>The shared f32-gemv-rows tester: every entry of F32GemvRowsFamily.Variants against the golden
/// table within the named budget gamma_k(2^-24)*sum|w||x| (the scalar reference also bit-exact to its pinned
/// order), plus bounds and allocation checks, and the self-test's bit-for-bit comparison with f32-gemm
/// (F32RowsGemmOrderTests holds the random-shape comparison). Unsupported variants return early, logged as skipped.</summary>
public class F32GemvRowsTests(ITestOutputHelper output)
{
    public static TheoryData<string> VariantNames() => [.. F32GemvRowsFamily.Variants.Select(v => v.Name)];

    private KernelVariant<F32GemvRowsFn>? Supported(string name)
    {
        var v = F32GemvRowsFamily.Variants.Single(v => v.Name == name);
        if (v.Supported) { output.WriteLine($"testing {v.Name} ({v.Isa})"); return v; }
        output.WriteLine($"SKIPPED {v.Name}: this CPU lacks {v.Isa} ({CpuFeatures.Describe()})");
        return null;
    }

    [Fact]
    public void GoldenTableMatchesItsCommittedCrc() =>
        Assert.True(F32GemvRowsGolden.VerifyPin() is null, $"{F32GemvRowsGolden.VerifyPin()}");

    [Theory, MemberData(nameof(VariantNames))]
    public void GoldenVectorsWithinBudget(string name)
    {
        if (Supported(name) is not { } v) return;
        Assert.Null(F32GemvRowsGolden.Check(v.Fn, bitExactToScalar: v.Isa == Isa.Scalar));
    }

    [Fact]
    public void BudgetIsTightEnoughToCatchAWrongColumn()
    {
        // Guard against a vacuous budget: dropping one term of a unit-range case must exceed it.
        var c = F32GemvRowsGolden.Make(F32GemvRowsGolden.Pattern.Unit, 67, [0]);
        double dropped = c.Exact[0] - (double)c.W[66] * c.X[66];
        Assert.True(Math.Abs(dropped - c.Exact[0]) > F32GemvRowsGolden.Budget(67, c.SumAbs[0]));
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void RejectsRowsOutsideWAndShortSpans(string name)
    {
        if (Supported(name) is not { } v) return;
        var w = new float[3 * 20];
        var x = new float[20];
        Assert.Throws<ArgumentOutOfRangeException>(() => v.Fn(w, x, new[] { 0, 3 }, new float[2], 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => v.Fn(w, x, new[] { -1 }, new float[1], 20));
        Assert.Throws<ArgumentException>(() => v.Fn(w, x.AsSpan(1), new[] { 0 }, new float[1], 20));
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, new[] { 0, 1 }, new float[1], 20));
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void NeverTouchesMemoryPastTheSpans(string name)
    {
        // w, x, the row list and y each end exactly at a PROT_NONE page: any over-read or over-write faults.
        if (Supported(name) is not { } v) return;
        int[] lastRows = [F32GemvRowsGolden.MatrixRows - 1, 2, F32GemvRowsGolden.MatrixRows - 1];
        using var wMem = new GuardedBuffer<float>(F32GemvRowsGolden.MatrixRows * F32GemvRowsGolden.MaxTailK);
        using var xMem = new GuardedBuffer<float>(F32GemvRowsGolden.MaxTailK);
        using var rMem = new GuardedBuffer<int>(lastRows.Length);
        using var yMem = new GuardedBuffer<float>(lastRows.Length);
        for (int k = 0; k <= F32GemvRowsGolden.MaxTailK; k++)
        {
            var c = F32GemvRowsGolden.Make(F32GemvRowsGolden.Pattern.Unit, k, lastRows);
            var w = wMem.Tail(c.W.Length); c.W.CopyTo(w);
            var x = xMem.Tail(k); c.X.CopyTo(x);
            var rows = rMem.Tail(lastRows.Length); lastRows.CopyTo(rows);
            var y = yMem.Tail(lastRows.Length);
            v.Fn(w, x, rows, y, k);
            for (int r = 0; r < y.Length; r++)
                Assert.True(Math.Abs(y[r] - c.Exact[r]) <= F32GemvRowsGolden.Budget(k, c.SumAbs[r]), c.Name);
        }
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void ZeroAllocationsPerCall(string name)
    {
        if (Supported(name) is not { } v) return;
        var c = F32GemvRowsGolden.Make(F32GemvRowsGolden.Pattern.Unit, 67, [5, 0, 3]);
        var y = new float[3];
        var fn = v.Fn;
        fn(c.W, c.X, c.Rows, y, 67);
        var (allocated, _) = SteadyStateAllocation.Least(() => { for (int i = 0; i < 1000; i++) fn(c.W, c.X, c.Rows, y, 67); });
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void VariantsThatMustRunHere()
    {
        var ran = F32GemvRowsFamily.Variants.Where(v => v.Supported).Select(v => v.Name).ToList();
        output.WriteLine($"{CpuFeatures.Describe()}; f32-gemv-rows variants tested: {string.Join(", ", ran)}");
        if (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64)
            foreach (var isa in new[] { Isa.Scalar, Isa.Vector128, Isa.Avx2 })
                Assert.Contains(F32GemvRowsFamily.Variants, v => v.Isa == isa && v.Supported);
    }

    [Fact]
    public void SelfTestPassesAndIsRegistered()
    {
        Assert.Contains(KernelFamilies.All, f => f is F32GemvRowsFamily);
        var results = F32GemvRowsFamily.Instance.SelfTest().ToList();
        foreach (var r in results) output.WriteLine($"{r.Variant}: {(r.Ok ? "ok" : "FAIL")} {r.Detail}");
        Assert.All(results, r => Assert.True(r.Ok, r.Detail));
        Assert.Equal(F32GemvRowsFamily.Variants.Count(v => v.Supported), results.Count);
        // The self-test also checks each variant bit for bit against the f32-gemm variant of its Isa (the only
        // place the AdvSimd pair is compared, under the arm64 qemu harness).
        Assert.All(results, r => Assert.Contains("bit-identical to f32-gemm-", r.Detail));
    }

    [Fact]
    public void GemmComparisonCatchesAnotherOrder()
    {
        // Guard against a vacuous self-test check: the sequential scalar order is not Vector128 gemm's 4-lane order.
        var gemm = F32GemmFamily.Variants.Single(v => v.Isa == Isa.Vector128);
        Assert.True(gemm.Supported);
        var scalarRows = F32GemvRowsFamily.Variants.Single(v => v.Isa == Isa.Scalar);
        Assert.NotNull(F32GemvRowsGolden.CheckAgainstGemm(scalarRows.Fn, gemm.Fn, gemm.Name));
        var rows = F32GemvRowsFamily.Variants.Single(v => v.Isa == Isa.Vector128);
        Assert.Null(F32GemvRowsGolden.CheckAgainstGemm(rows.Fn, gemm.Fn, gemm.Name));
    }
}
