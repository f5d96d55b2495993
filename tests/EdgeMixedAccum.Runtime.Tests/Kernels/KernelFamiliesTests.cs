using EdgeMixedAccum.Runtime.Kernels;

namespace EdgeMixedAccum.Runtime.Tests.Kernels;

public class KernelFamiliesTests
{
    [Fact]
    public void EveryFamilyIsRegisteredOnceWithAScalarBaselineFirst()
    {
        Assert.Equal(KernelFamilies.All.Count, KernelFamilies.All.Select(f => f.Name).Distinct().Count());
        Assert.Contains(KernelFamilies.All, f => f.Name == "i8-gemv");
        Assert.Contains(KernelFamilies.All, f => f.Name == "f32-gemv-rows");
        foreach (var f in KernelFamilies.All)
        {
            Assert.Equal(Isa.Scalar, f.Variants[0].Isa);
            Assert.Equal(f.Variants.Count, f.Variants.Select(v => v.Name).Distinct().Count());
            Assert.All(f.Variants, v => Assert.StartsWith(f.Name + "-", v.Name));
            Assert.Equal(f.Variants[0].Name, f.Selected(new KernelOptions { ForceGeneric = true }));
            Assert.Equal(f.Variants.Last(v => CpuFeatures.Has(v.Isa)).Name, f.Selected(KernelOptions.Default));
        }
    }
}
