using EdgeMixedAccum.Runtime.Kernels;
using EdgeMixedAccum.Tests;
using Xunit.Abstractions;

namespace EdgeMixedAccum.Runtime.Tests.Kernels;

/// <summary>The shared i8-gemm tester: every entry of I8GemmFamily.Variants goes through the same golden
/// table, int64 reference, bounds and allocation checks. A variant this CPU lacks returns early (logged as
/// skipped); VariantsThatMustRunHere makes sure the x64 ones did run.</summary>
public class I8GemmTests(ITestOutputHelper output)
{
    public static TheoryData<string> VariantNames() => [.. I8GemmFamily.Variants.Select(v => v.Name)];

    private KernelVariant<I8GemmFn>? Supported(string name)
    {
        var v = I8GemmFamily.Variants.Single(v => v.Name == name);
        if (v.Supported) { output.WriteLine($"testing {v.Name} ({v.Isa})"); return v; }
        output.WriteLine($"SKIPPED {v.Name}: this CPU lacks {v.Isa} ({CpuFeatures.Describe()})");
        return null;
    }

    private static sbyte[] RandomInt8(Random rng, int length)
    {
        var a = new sbyte[length];
        for (int i = 0; i < a.Length; i++) a[i] = (sbyte)rng.Next(-127, 128);
        return a;
    }

    [Fact]
    public void GoldenTableMatchesItsCommittedCrc() =>
        Assert.True(I8GemmGolden.VerifyPin() is null, $"{I8GemmGolden.VerifyPin()}");

    [Fact]
    public void VariantListStartsWithTheScalarReference()
    {
        Assert.Equal(Isa.Scalar, I8GemmFamily.Variants[0].Isa);
        Assert.Equal(I8GemmFamily.Variants.Count, I8GemmFamily.Variants.Select(v => v.Name).Distinct().Count());
        Assert.All(I8GemmFamily.Variants, v => Assert.StartsWith("i8-gemm-", v.Name));
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void GoldenVectorsBitExact(string name)
    {
        if (Supported(name) is not { } v) return;
        Assert.Null(I8GemmGolden.Check(v.Fn));
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void RandomShapesMatchInt64Reference(string name)
    {
        if (Supported(name) is not { } v) return;
        var rng = new Random(4321);
        for (int t = 0; t < 150; t++)
        {
            int rows = rng.Next(0, 14), k = rng.Next(0, 400), n = rng.Next(0, 14);
            var w = RandomInt8(rng, rows * k);
            var x = RandomInt8(rng, n * k);
            var dot = new int[n * rows];
            v.Fn(w, x, dot, rows, k, n);
            Assert.Equal(I8GemmGolden.Reference(w, x, rows, k, n), dot);
        }
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void WorstCaseMagnitudesAtMaxK(string name)
    {
        // k = MaxK at +-127 everywhere: |dot| = MaxK*127*127, the largest exact int32 sum (and the biased
        // VPDPBUSD total of the AVX-VNNI kernel wraps int32 on the way there).
        if (Supported(name) is not { } v) return;
        int k = I8GemmFamily.MaxK;
        const int rows = 5, n = 3;
        var w = new sbyte[rows * k];
        var x = new sbyte[n * k];
        for (int i = 0; i < rows; i++) Array.Fill(w, (sbyte)(i % 2 == 0 ? 127 : -127), i * k, k);
        for (int s = 0; s < n; s++) Array.Fill(x, (sbyte)(s == 1 ? -127 : 127), s * k, k);
        var dot = new int[n * rows];
        v.Fn(w, x, dot, rows, k, n);
        for (int s = 0; s < n; s++)
            for (int i = 0; i < rows; i++)
                Assert.Equal((i % 2 == 0) == (s != 1) ? k * 127 * 127 : -k * 127 * 127, dot[s * rows + i]);
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void EquivalentToGemvPerVector(string name)
    {
        // The same w and x through the best i8-gemv variant, one vector at a time.
        if (Supported(name) is not { } v) return;
        var gemv = KernelSelect.Best(I8GemvFamily.Variants).Fn;
        var rng = new Random(77);
        foreach (var (rows, k, n) in new[] { (64, 784, 9), (13, 129, 17), (4, 64, 4), (7, 300, 5), (1, 33, 3) })
        {
            var w = RandomInt8(rng, rows * k);
            var x = RandomInt8(rng, n * k);
            var dot = new int[n * rows];
            v.Fn(w, x, dot, rows, k, n);
            var one = new int[rows];
            for (int s = 0; s < n; s++)
            {
                gemv(w, x.AsSpan(s * k, k), one, [], rows, k);
                Assert.Equal(one, dot.AsSpan(s * rows, rows).ToArray());
            }
        }
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void RejectsBadArgumentsBeforeReading(string name)
    {
        if (Supported(name) is not { } v) return;
        var w = new sbyte[3 * 40];
        var x = new sbyte[2 * 40];
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, new int[8], 4, 40, 2));            // w short by a row
        Assert.Throws<ArgumentException>(() => v.Fn(w, x.AsSpan(1), new int[6], 3, 40, 2));  // x short by one
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, new int[6], 3, 40, 3));            // x short by a vector
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, new int[5], 3, 40, 2));            // dot short
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, new int[6], -1, 40, 2));
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, new int[6], 3, -1, 2));
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, new int[6], 3, 40, -1));
        Assert.Throws<ArgumentException>(() => v.Fn(w, x, new int[6], 1, I8GemmFamily.MaxK + 1, 0));
        Assert.Throws<ArgumentException>(() => v.Fn([], [], [], 1 << 16, 1 << 16, 0));        // rows*k past int
        v.Fn([], [], [], 0, 0, 0);
        v.Fn(w, x, [], 0, 40, 2);                                                                 // no rows: nothing to write
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void NeverTouchesMemoryPastTheSpans(string name)
    {
        // Inputs end exactly at a PROT_NONE page and the output too: any over-read or over-write faults.
        if (Supported(name) is not { } v) return;
        const int maxRows = 9, maxN = 17, maxK = 129;
        using var wMem = new GuardedBuffer<sbyte>(maxRows * maxK);
        using var xMem = new GuardedBuffer<sbyte>(maxN * maxK);
        using var dMem = new GuardedBuffer<int>(maxN * maxRows);
        foreach (var c in I8GemmGolden.Cases)
        {
            if (c.K > maxK) continue;
            var w = wMem.Tail(c.W.Length); c.W.CopyTo(w);
            var x = xMem.Tail(c.X.Length); c.X.CopyTo(x);
            var d = dMem.Tail(c.Dot.Length);
            v.Fn(w, x, d, c.Rows, c.K, c.N);
            Assert.True(d.SequenceEqual(c.Dot), c.Name);
        }
    }

    [Theory, MemberData(nameof(VariantNames))]
    public void ZeroAllocationsPerCall(string name)
    {
        if (Supported(name) is not { } v) return;
        var c = I8GemmGolden.Make(I8GemmGolden.Pattern.Random, 9, 129, 17);
        var dot = new int[c.Dot.Length];
        var fn = v.Fn;
        fn(c.W, c.X, dot, 9, 129, 17); // JIT and tiering out of the measurement
        var (allocated, _) = SteadyStateAllocation.Least(() => { for (int i = 0; i < 1000; i++) fn(c.W, c.X, dot, 9, 129, 17); });
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void VariantsThatMustRunHere()
    {
        var ran = I8GemmFamily.Variants.Where(v => v.Supported).Select(v => v.Name).ToList();
        output.WriteLine($"{CpuFeatures.Describe()}; i8-gemm variants tested: {string.Join(", ", ran)}");
        if (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64)
            foreach (var isa in new[] { Isa.Scalar, Isa.Avx2 })
                Assert.Contains(I8GemmFamily.Variants, v => v.Isa == isa && v.Supported);
    }

    [Fact]
    public void SelfTestPasses()
    {
        var results = I8GemmFamily.Instance.SelfTest().ToList();
        foreach (var r in results) output.WriteLine($"{r.Variant}: {(r.Ok ? "ok" : "FAIL")} {r.Detail}");
        Assert.All(results, r => Assert.True(r.Ok, r.Detail));
        Assert.Equal(I8GemmFamily.Variants.Count(v => v.Supported), results.Count);
    }
}
