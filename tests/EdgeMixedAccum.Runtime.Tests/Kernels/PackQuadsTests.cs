using EdgeMixedAccum.Runtime.Kernels;
using Xunit.Abstractions;

namespace EdgeMixedAccum.Runtime.Tests.Kernels;

/// <summary>The shared tester of i8-pack-quads (the int8 conv panel in the quad layout): every entry of
/// I8PackQuadsFamily.Variants on the family's exhaustive short lengths and against the scalar reference on random rows
/// (exact: pure data movement, nothing written past n); argument checks. The NEON variant runs here only on ARM64 (its
/// golden check runs in `ema selftest` under qemu).</summary>
public class PackQuadsTests(ITestOutputHelper output)
{
    public static TheoryData<string> Names() => [.. I8PackQuadsFamily.Variants.Select(v => v.Name)];

    private KernelVariant<I8PackQuadsFn>? Supported(string name)
    {
        var v = I8PackQuadsFamily.Variants.Single(v => v.Name == name);
        if (v.Supported) { output.WriteLine($"testing {v.Name} ({v.Isa})"); return v; }
        output.WriteLine($"SKIPPED {v.Name}: this CPU lacks {v.Isa} ({CpuFeatures.Describe()})");
        return null;
    }

    [Theory, MemberData(nameof(Names))]
    public void ShortLengthsExact(string name)
    {
        if (Supported(name) is not { } v) return;
        Assert.Null(I8PackQuadsFamily.Check(v.Fn));
    }

    [Theory, MemberData(nameof(Names))]
    public void RandomRowsEqualTheScalarReference(string name)
    {
        if (Supported(name) is not { } v) return;
        var rng = new Random(20261207);
        for (int t = 0; t < 100; t++)
        {
            int n = rng.Next(0, 3000);
            var rows = new sbyte[4][];
            for (int r = 0; r < 4; r++) { rows[r] = new sbyte[n]; rng.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(rows[r].AsSpan())); }
            var want = new int[n + 3];
            var got = new int[n + 3];
            Array.Fill(want, -7); Array.Fill(got, -7);
            I8PackQuadsFamily.Variants[0].Fn(rows[0], rows[1], rows[2], rows[3], want);
            v.Fn(rows[0], rows[1], rows[2], rows[3], got);
            Assert.Equal(want, got);
        }
    }

    [Fact]
    public void TheReferenceIsTheGemmsQuad()
    {
        // The packing must be what i8-gemm-nn4 reads: byte b of quad q is row b's element q (sign kept).
        var dst = new int[1];
        I8PackQuadsFamily.Variants[0].Fn([-128], [127], [-1], [5], dst);
        Assert.Equal([-128, 127, -1, 5], Enumerable.Range(0, 4).Select(b => I8GemmNn4Pack.Byte(dst[0], b)));
    }

    [Fact]
    public void MismatchedRowsAreRefusedBeforeAnyAccess()
    {
        foreach (var v in I8PackQuadsFamily.Variants.Where(v => v.Supported))
        {
            var r16 = new sbyte[16];
            Assert.Throws<ArgumentException>(() => v.Fn(r16, r16, r16, new sbyte[15], new int[16])); // a row shorter
            Assert.Throws<ArgumentException>(() => v.Fn(r16, new sbyte[17], r16, r16, new int[17]));  // a row longer
            Assert.Throws<ArgumentException>(() => v.Fn(r16, r16, r16, r16, new int[15]));             // dst too short
        }
    }
}
