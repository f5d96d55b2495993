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

    [Fact]
    public void DescribeNamesTheArchitecture() =>
        Assert.Contains(System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString(), CpuFeatures.Describe());
}
