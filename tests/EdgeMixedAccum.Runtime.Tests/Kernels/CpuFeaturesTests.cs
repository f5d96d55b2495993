using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using EdgeMixedAccum.Runtime.Kernels;

namespace EdgeMixedAccum.Runtime.Tests.Kernels;

/// <summary>What the CPU reports (CPUID, AT_HWCAP) against what the process uses: the check that tells a NativeAOT
/// build compiled for x86-64 on an AVX2 CPU (its IsSupported folded to false) from a correct one.</summary>
public class CpuFeaturesTests
{
    // CPUID bits: leaf 1 ECX FMA 12, OSXSAVE 27, AVX 28; leaf 7 EBX AVX2 5, AVX512 F 16, DQ 17, CD 28, BW 30, VL 31;
    // leaf 7.1 EAX AVX-VNNI 4.
    private const uint Avx = 1u << 12 | 1u << 27 | 1u << 28;
    private const uint Avx2 = 1u << 5;
    private const uint Avx512 = Avx2 | 1u << 16 | 1u << 17 | 1u << 28 | 1u << 30 | 1u << 31;
    private const uint Vnni = 1u << 4;

    [Fact]
    public void CpuidOfAZen1IsAvx2Only() =>
        Assert.Equal([Isa.Vector128, Isa.Avx2], CpuFeatures.FromCpuid(13, Avx, Avx2, 0));

    [Fact]
    public void CpuidOfAnAvx512VnniServerHasEveryLevel() =>
        Assert.Equal([Isa.Vector128, Isa.Avx2, Isa.AvxVnni, Isa.Avx512BW, Isa.Avx512Vnni], CpuFeatures.FromCpuid(0x1b, Avx, Avx512, Vnni));

    [Theory]
    [InlineData(13u, Avx & ~(1u << 27), Avx2, 0u)]   // OSXSAVE off: the OS does not save ymm state
    [InlineData(13u, Avx & ~(1u << 12), Avx2, 0u)]   // no FMA: .NET's AVX2 level needs it
    [InlineData(13u, Avx & ~(1u << 28), Avx2, 0u)]   // no AVX
    [InlineData(6u, Avx, Avx2, 0u)]                  // leaf 7 beyond the highest leaf: its registers mean nothing
    [InlineData(13u, Avx, 0u, Vnni)]                 // VNNI bit without AVX2
    public void AvxLevelsNeedEveryPart(uint maxLeaf, uint ecx, uint ebx, uint eax) =>
        Assert.Equal([Isa.Vector128], CpuFeatures.FromCpuid(maxLeaf, ecx, ebx, eax));

    [Theory]
    [InlineData(16)] [InlineData(17)] [InlineData(28)] [InlineData(30)] [InlineData(31)]
    public void Avx512NeedsAllOfX86_64V4(int missing) =>
        Assert.DoesNotContain(Isa.Avx512BW, CpuFeatures.FromCpuid(13, Avx, Avx512 & ~(1u << missing), 0));

    [Fact]
    public void HwcapBitsGiveNeonAndTheDotProduct()
    {
        Assert.Equal([Isa.Vector128, Isa.AdvSimd], CpuFeatures.FromHwcap(1 << 1 | 1 << 10));          // Cortex-A72 and A57 style
        Assert.Equal([Isa.Vector128, Isa.AdvSimd, Isa.Dp], CpuFeatures.FromHwcap(1 << 1 | 1 << 20));  // Cortex-A76
        Assert.Empty(CpuFeatures.FromHwcap(1 << 20));
    }

    /// <summary>Under the JIT, IsSupported is the runtime's own reading of this CPU: the CPUID decoding must agree
    /// with it level by level (an independent reading; unless a DOTNET_Enable* variable turned a level off).</summary>
    [Fact]
    public void CpuidAgreesWithTheJitOnThisMachine()
    {
        if (!X86Base.IsSupported || !RuntimeFeature.IsDynamicCodeSupported) return;
        if (Environment.GetEnvironmentVariables().Keys.Cast<string>().Any(k => k.StartsWith("DOTNET_Enable", StringComparison.OrdinalIgnoreCase))) return;
        uint max = (uint)X86Base.CpuId(0, 0).Eax;
        var reported = CpuFeatures.FromCpuid(max, (uint)X86Base.CpuId(1, 0).Ecx, (uint)X86Base.CpuId(7, 0).Ebx, (uint)X86Base.CpuId(7, 1).Eax);
        foreach (var isa in new[] { Isa.Avx2, Isa.AvxVnni, Isa.Avx512BW, Isa.Avx512Vnni })
            Assert.True(reported.Contains(isa) == CpuFeatures.Has(isa), $"{isa}: CPUID says {reported.Contains(isa)}, the JIT {CpuFeatures.Has(isa)}");
        Assert.Empty(CpuFeatures.Unused());
        Assert.Null(CpuFeatures.UnusedAdvice());
    }
}
