using EdgeMixedAccum.Runtime.Kernels;
using EdgeMixedAccum.Tests;
using Xunit.Abstractions;

namespace EdgeMixedAccum.Runtime.Tests.Kernels;

/// <summary>The shared i8-gemv tester: every entry of I8GemvFamily.Variants goes through the same golden
/// table, bounds and allocation checks. A variant this CPU lacks returns early (logged as skipped);
/// VariantsThatMustRunHere makes sure the x64 ones did run.</summary>
public class I8GemvTests(ITestOutputHelper output)
{
    public static TheoryData<string> VariantNames() => [.. I8GemvFamily.Variants.Select(v => v.Name)];

    private KernelVariant<I8GemvFn>? Supported(string name)
    {
        var v = I8GemvFamily.Variants.Single(v => v.Name == name);
        if (v.Supported) { output.WriteLine($"testing {v.Name} ({v.Isa})"); return v; }
        output.WriteLine($"SKIPPED {v.Name}: this CPU lacks {v.Isa} ({CpuFeatures.Describe()})");
        return null;
    }

    [Fact]
    public void GoldenTableMatchesItsCommittedCrc() =>
        Assert.True(I8GemvGolden.VerifyPin() is null, $"{I8GemvGolden.VerifyPin()}");

    [Theory, MemberData(nameof(VariantNames))]
    public void GoldenVectorsBitExact(string name)
    {
        if (Supported(name) is not { } v) return;
        Assert.Null(I8GemvGolden.Check(v.Fn));
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void RandomShapesMatchScalar(string name)
    {
        if (Supported(name) is not { } v) return;
        var rng = new Random(1234);
        for (int t = 0; t < 200; t++)
        {
            int rows = rng.Next(0, 12), k = rng.Next(0, 300);
            var w = new sbyte[rows * k];
            var x = new sbyte[k];
            foreach (var a in new[] { w, x }) for (int i = 0; i < a.Length; i++) a[i] = (sbyte)rng.Next(-127, 128);
            int[] d0 = new int[rows], a0 = new int[rows], d1 = new int[rows], a1 = new int[rows];
            I8GemvFamily.Variants[0].Fn(w, x, d0, a0, rows, k);
            v.Fn(w, x, d1, a1, rows, k);
            Assert.Equal(d0, d1);
            Assert.Equal(a0, a1);
        }
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void WorstCaseMagnitudesAtMaxK(string name)
    {
        // k = MaxK at +-127 everywhere: |dot| = absDot = MaxK*127*127, the largest exact int32 sum.
        if (Supported(name) is not { } v) return;
        int k = I8GemvFamily.MaxK;
        var w = new sbyte[2 * k];
        var x = new sbyte[k];
        Array.Fill(x, (sbyte)127);
        Array.Fill(w, (sbyte)127, 0, k);
        Array.Fill(w, (sbyte)-127, k, k);
        int[] dot = new int[2], abs = new int[2];
        v.Fn(w, x, dot, abs, 2, k);
        Assert.Equal([k * 127 * 127, -k * 127 * 127], dot);
        Assert.Equal([k * 127 * 127, k * 127 * 127], abs);
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void RejectsShortSpansBeforeReading(string name)
    {
        if (Supported(name) is not { } v) return;
        var w = new sbyte[3 * 40];
        var x = new sbyte[40];
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, new int[4], new int[4], 4, 40));      // w short by a row
        Assert.Throws<ArgumentException>(() => v.Fn(w, x.AsSpan(1), new int[3], new int[3], 3, 40)); // x short by one
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, new int[2], new int[3], 3, 40));      // dot short
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, new int[3], new int[2], 3, 40));      // absDot short
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, new int[3], new int[3], -1, 40));
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, new int[3], new int[3], 1, I8GemvFamily.MaxK + 1));
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void NeverTouchesMemoryPastTheSpans(string name)
    {
        // Inputs end exactly at a PROT_NONE page and outputs too: any over-read or over-write faults.
        if (Supported(name) is not { } v) return;
        using var wMem = new GuardedBuffer<sbyte>(17 * 67);
        using var xMem = new GuardedBuffer<sbyte>(67);
        using var dMem = new GuardedBuffer<int>(17);
        using var aMem = new GuardedBuffer<int>(17);
        foreach (int rows in I8GemvGolden.RowCounts)
            for (int k = 0; k <= I8GemvGolden.MaxTailK; k++)
            {
                var c = I8GemvGolden.Make(I8GemvGolden.Pattern.Random, rows, k);
                var w = wMem.Tail(rows * k); c.W.CopyTo(w);
                var x = xMem.Tail(k); c.X.CopyTo(x);
                var d = dMem.Tail(rows);
                var a = aMem.Tail(rows);
                v.Fn(w, x, d, a, rows, k);
                Assert.True(d.SequenceEqual(c.Dot) && a.SequenceEqual(c.AbsDot), c.Name);
                v.Fn(w, x, d, [], rows, k);
                Assert.True(d.SequenceEqual(c.Dot), c.Name);
            }
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void ZeroAllocationsPerCall(string name)
    {
        if (Supported(name) is not { } v) return;
        var c = I8GemvGolden.Make(I8GemvGolden.Pattern.Random, 17, 67);
        var dot = new int[17];
        var abs = new int[17];
        var fn = v.Fn;
        fn(c.W, c.X, dot, abs, 17, 67); // JIT and tiering out of the measurement
        fn(c.W, c.X, dot, [], 17, 67);
        var (allocated, _) = SteadyStateAllocation.Least(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                fn(c.W, c.X, dot, abs, 17, 67);
                fn(c.W, c.X, dot, [], 17, 67);
            }
        });
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void VariantsThatMustRunHere()
    {
        var ran = I8GemvFamily.Variants.Where(v => v.Supported).Select(v => v.Name).ToList();
        output.WriteLine($"{CpuFeatures.Describe()}; i8-gemv variants tested: {string.Join(", ", ran)}");
        if (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64)
            foreach (var isa in new[] { Isa.Scalar, Isa.Vector128, Isa.Avx2 })
                Assert.Contains(I8GemvFamily.Variants, v => v.Isa == isa && v.Supported);
    }

    [Fact]
    public void SelfTestPassesAndIsRegistered()
    {
        Assert.Contains(KernelFamilies.All, f => f is I8GemvFamily);
        var results = I8GemvFamily.Instance.SelfTest().ToList();
        foreach (var r in results) output.WriteLine($"{r.Variant}: {(r.Ok ? "ok" : "FAIL")} {r.Detail}");
        Assert.All(results, r => Assert.True(r.Ok, r.Detail));
        Assert.Equal(I8GemvFamily.Variants.Count(v => v.Supported), results.Count);
    }
}
