using EdgeMixedAccum.Runtime.Kernels;
using Xunit.Abstractions;

namespace EdgeMixedAccum.Runtime.Tests.Kernels;

/// <summary>The shared tester of f32-transpose (the NHWC copy of the sparse conv recompute): every entry of
/// F32TransposeFamily.Variants on the family's exhaustive small shapes and against the scalar reference on random
/// shapes and strides (exact: pure data movement, nothing written outside its elements); argument checks.</summary>
public class TransposeTests(ITestOutputHelper output)
{
    public static TheoryData<string> Names() => [.. F32TransposeFamily.Variants.Select(v => v.Name)];

    private KernelVariant<F32TransposeFn>? Supported(string name)
    {
        var v = F32TransposeFamily.Variants.Single(v => v.Name == name);
        if (v.Supported) { output.WriteLine($"testing {v.Name} ({v.Isa})"); return v; }
        output.WriteLine($"SKIPPED {v.Name}: this CPU lacks {v.Isa} ({CpuFeatures.Describe()})");
        return null;
    }

    [Theory, MemberData(nameof(Names))]
    public void SmallShapesExact(string name)
    {
        if (Supported(name) is not { } v) return;
        Assert.Null(F32TransposeFamily.Check(v.Fn));
    }

    [Theory, MemberData(nameof(Names))]
    public void RandomShapesEqualTheScalarReference(string name)
    {
        if (Supported(name) is not { } v) return;
        var rng = new Random(20261206);
        for (int t = 0; t < 100; t++)
        {
            int rows = rng.Next(0, 100), cols = rng.Next(0, 700), ldx = cols + rng.Next(0, 9), ldy = rows + rng.Next(0, 40);
            var x = new float[rows * ldx];
            for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
            var want = new float[cols * ldy + 5];
            var got = new float[cols * ldy + 5];
            Array.Fill(want, -1f); Array.Fill(got, -1f);
            F32TransposeFamily.Variants[0].Fn(x, rows, cols, ldx, want, ldy);
            v.Fn(x, rows, cols, ldx, got, ldy);
            Assert.Equal(want, got);
        }
    }

    [Fact]
    public void ShortBuffersAreRefusedBeforeAnyAccess()
    {
        foreach (var v in F32TransposeFamily.Variants.Where(v => v.Supported))
        {
            Assert.Throws<ArgumentException>(() => v.Fn(new float[63], 8, 8, 8, new float[64], 8));  // x needs 64
            Assert.Throws<ArgumentException>(() => v.Fn(new float[64], 8, 8, 8, new float[63], 8));  // y needs 64
            Assert.Throws<ArgumentException>(() => v.Fn(new float[64], 8, 8, 7, new float[64], 8));  // ldx < cols
            Assert.Throws<ArgumentException>(() => v.Fn(new float[64], 8, 8, 8, new float[64], 7));  // ldy < rows
        }
    }
}
