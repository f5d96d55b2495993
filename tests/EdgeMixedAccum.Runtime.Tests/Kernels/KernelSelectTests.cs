using EdgeMixedAccum.Runtime.Kernels;

namespace EdgeMixedAccum.Runtime.Tests.Kernels;

public class KernelSelectTests
{
    private delegate int Fn();

    private static readonly KernelVariant<Fn>[] Family =
    [
        new("t-scalar", Isa.Scalar, () => 0),
        new("t-v128", Isa.Vector128, () => 1),
        new("t-avx2", Isa.Avx2, () => 2),
        new("t-dp", Isa.Dp, () => 3),
    ];

    [Fact]
    public void PicksTheLastSupportedVariant()
    {
        var best = KernelSelect.Best(Family);
        var expected = Family.Last(v => CpuFeatures.Has(v.Isa));
        Assert.Same(expected, best);
    }

    [Fact]
    public void ForceGenericPicksTheScalarReference() =>
        Assert.Equal(Isa.Scalar, KernelSelect.Best(Family, new KernelOptions { ForceGeneric = true }).Isa);

    [Fact]
    public void AllowedSetExcludesOtherIsas()
    {
        var chosen = KernelSelect.Best(Family, new KernelOptions { Allowed = new HashSet<Isa> { Isa.Dp } });
        Assert.Equal(CpuFeatures.Has(Isa.Dp) ? Isa.Dp : Isa.Scalar, chosen.Isa);
    }

    [Theory]
    [InlineData(Isa.Dp, Isa.AdvSimd, true)]        // SDOT: 16 multiply-adds an instruction against SMLAL's 4
    [InlineData(Isa.AvxVnni, Isa.Avx2, true)]      // VPDPBUSD ymm: 32 against VPMADDWD ymm's 16
    [InlineData(Isa.AvxVnni, Isa.Avx512BW, false)] // VPMADDWD zmm: 32 as well, measured no slower
    [InlineData(Isa.Scalar, Isa.AdvSimd, false)]   // no dot-product instruction: the pair kernels
    [InlineData(Isa.Scalar, Isa.Scalar, true)]     // forced generic: both references, quads
    public void IntConvLayoutFollowsTheDotProductInstruction(Isa quad, Isa pair, bool quads) =>
        Assert.Equal(quads, EdgeMixedAccum.Runtime.Engine.KernelSet.QuadLayoutWins(quad, pair));

    [Fact]
    public void DescribeNamesTheArchitecture() =>
        Assert.Contains(System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString(), CpuFeatures.Describe());
}
