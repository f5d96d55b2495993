using EdgeMixedAccum.Runtime.Kernels;
using Xunit.Abstractions;

namespace EdgeMixedAccum.Runtime.Tests.Kernels;

/// <summary>The shared tester of f32-dot-taps (the sparse conv recompute): every entry of F32DotTapsFamily.Variants
/// against the golden table (bit-exact to the 4x16-lane order, within the fp32 budget of the fp64 value) and
/// against the scalar reference on random lengths, tap counts and padding taps; argument checks. Unsupported
/// variants return early, logged as skipped.</summary>
public class DotTapsTests(ITestOutputHelper output)
{
    public static TheoryData<string> Names() => [.. F32DotTapsFamily.Variants.Select(v => v.Name)];

    private KernelVariant<F32DotTapsFn>? Supported(string name)
    {
        var v = F32DotTapsFamily.Variants.Single(v => v.Name == name);
        if (v.Supported) { output.WriteLine($"testing {v.Name} ({v.Isa})"); return v; }
        output.WriteLine($"SKIPPED {v.Name}: this CPU lacks {v.Isa} ({CpuFeatures.Describe()})");
        return null;
    }

    [Fact]
    public void GoldenTableMatchesItsCommittedCrc() => Assert.True(F32DotTapsGolden.VerifyPin() is null, $"{F32DotTapsGolden.VerifyPin()}");

    [Theory, MemberData(nameof(Names))]
    public void GoldenVectorsBitExactToTheOrder(string name)
    {
        if (Supported(name) is not { } v) return;
        Assert.Null(F32DotTapsGolden.Check(v.Fn));
    }

    [Fact]
    public void ReferenceIsTheLaneOrderNotAPlainChain()
    {
        // Guard against a vacuous comparison: one fused chain in element order differs from the pinned bits often.
        int differ = 0, cases = 0;
        foreach (var c in F32DotTapsGolden.Cases.Where(c => c.Len >= 32))
        {
            float acc = 0;
            for (int t = 0; t < c.XOff.Length; t++)
                if (c.XOff[t] >= 0)
                    for (int j = 0; j < c.Len; j++) acc = MathF.FusedMultiplyAdd(c.W[t * c.Len + j], c.X[c.XOff[t] + j], acc);
            cases++;
            if (BitConverter.SingleToInt32Bits(acc) != BitConverter.SingleToInt32Bits(c.Reference)) differ++;
        }
        Assert.True(differ > cases / 3, $"only {differ} of {cases} cases differ between a plain chain and the lane order");
    }

    [Theory, MemberData(nameof(Names))]
    public void RandomShapesEqualTheScalarReference(string name)
    {
        if (Supported(name) is not { } v) return;
        var rng = new Random(20261205);
        for (int t = 0; t < 200; t++)
        {
            int len = 16 * rng.Next(0, 14), taps = rng.Next(0, 10), xLen = len + rng.Next(0, 200), positions = rng.Next(1, 6);
            var w = new float[taps * len + rng.Next(0, 3)];
            var x = new float[xLen];
            for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() * 2 - 1);
            for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * MathF.ScaleB(1, rng.Next(-8, 8));
            var off = new int[positions * taps];
            for (int i = 0; i < off.Length; i++) off[i] = rng.Next(4) == 0 ? -1 : rng.Next(0, xLen - len + 1);
            int first = rng.Next(positions);
            var at = Enumerable.Range(0, rng.Next(0, 8)).Select(_ => rng.Next(positions) - first).ToArray();
            var table = new TapOffsets(positions, taps, len, off);
            var want = new float[at.Length + 2];
            var got = new float[at.Length + 2];
            Array.Fill(want, 7f); Array.Fill(got, 7f);
            F32DotTapsFamily.Variants[0].Fn(w, x, table, first, at, want.AsSpan(0, at.Length));
            v.Fn(w, x, table, first, at, got.AsSpan(0, at.Length));
            Assert.Equal(want.Select(BitConverter.SingleToInt32Bits), got.Select(BitConverter.SingleToInt32Bits)); // the markers too: nothing past y
        }
    }

    [Fact]
    public void BadArgumentsAreRefusedBeforeAnyRead()
    {
        Assert.Throws<ArgumentException>(() => new TapOffsets(1, 2, 20, [0, 0]));     // len not a multiple of 16
        Assert.Throws<ArgumentException>(() => new TapOffsets(2, 2, 16, [0, 0, 0])); // not a row of taps per position
        Assert.Throws<ArgumentException>(() => new TapOffsets(-1, -1, 16, [0]));
        var two = new TapOffsets(2, 2, 16, [0, 0, 0, 16]);                         // position 1's second tap needs x >= 32
        Assert.Equal(32, two.XNeeded);
        foreach (var v in F32DotTapsFamily.Variants.Where(v => v.Supported))
        {
            var y = new float[1];
            Assert.Throws<ArgumentException>(() => v.Fn(new float[31], new float[32], two, 0, [0], y));    // w needs 32
            Assert.Throws<ArgumentException>(() => v.Fn(new float[32], new float[31], two, 0, [0], y));    // a tap past x
            Assert.Throws<ArgumentException>(() => v.Fn(new float[32], new float[32], two, 0, [2], y));    // no position 2
            Assert.Throws<ArgumentException>(() => v.Fn(new float[32], new float[32], two, 1, [1], y));    // first + at = 2
            Assert.Throws<ArgumentException>(() => v.Fn(new float[32], new float[32], two, 1, [-2], y));   // first + at < 0
            Assert.Throws<ArgumentException>(() => v.Fn(new float[32], new float[32], two, -1, [1], y));   // first < 0
            Assert.Throws<ArgumentException>(() => v.Fn(new float[32], new float[32], two, int.MaxValue, [1], y)); // wraps past int
            Assert.Throws<ArgumentException>(() => v.Fn(new float[32], new float[32], two, 0, [0, 0], y)); // y too short
            v.Fn(new float[32], new float[8], new TapOffsets(1, 2, 16, [-1, -1]), 0, [0], y);                // padding taps read nothing
            Assert.Equal(0f, y[0]);
        }
    }
}
