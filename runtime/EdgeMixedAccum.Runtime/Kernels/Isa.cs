using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>The instruction set a kernel variant needs. Order within one architecture is baseline first.</summary>
public enum Isa
{
    /// <summary>Plain C#: the reference, runs everywhere.</summary>
    Scalar,
    /// <summary>Portable System.Runtime.Intrinsics.Vector128 (whatever the JIT maps it to).</summary>
    Vector128,
    Avx2,
    AvxVnni,
    /// <summary>AVX-512 (F and BW, which .NET 10 reports together) on 512-bit vectors. .NET 10 exposes no
    /// 512-bit VPDPBUSD outside AVX10.2 (AvxVnniInt8.V512), so the 512-bit int8 path is VPMADDUBSW + VPMADDWD.</summary>
    Avx512BW,
    /// <summary>AVX-512 (F/BW/VL) with VNNI: VPDPBUSD on 32 EVEX-named vector registers. .NET 10 has no Avx512Vnni
    /// class and exposes VPDPBUSD only through AvxVnni (128/256-bit), which the JIT EVEX-encodes (ymm16-31) on
    /// such a CPU; detected as AvxVnni and Avx512BW both present. Tiles that need more than 16 vector registers
    /// with VPDPBUSD use it (a 16-register AVX-VNNI-only CPU would spill them).</summary>
    Avx512Vnni,
    /// <summary>ARMv8 NEON (every ARM64 core): SMLAL/SADALP for int8, FMLA .4S for fp32.</summary>
    AdvSimd,
    /// <summary>ARMv8.2 dot product (SDOT): Cortex-A76/A78, Neoverse-N1.</summary>
    Dp,
    /// <summary>ARMv8.2 FEAT_FP16 vector arithmetic (FMLA .8H) through the small native kernel library.</summary>
    Fp16Native,
}

/// <summary>What the running CPU supports, read once. Kernels never test features themselves.</summary>
public static class CpuFeatures
{
    private const ulong HwcapAsimd = 1 << 1;    // AT_HWCAP bits: NEON,
    private const ulong HwcapAsimdhp = 1 << 10; // FEAT_FP16 vector arithmetic,
    private const ulong HwcapAsimddp = 1 << 20; // the dot product (SDOT)
    private const ulong AtHwcap = 16;

    public static bool Has(Isa isa) => isa switch
    {
        Isa.Scalar => true,
        Isa.Vector128 => Vector128.IsHardwareAccelerated,
        Isa.Avx2 => Avx2.IsSupported,
        Isa.AvxVnni => AvxVnni.IsSupported,
        Isa.Avx512BW => Avx512BW.IsSupported,
        Isa.Avx512Vnni => Avx512BW.IsSupported && AvxVnni.IsSupported,
        Isa.AdvSimd => AdvSimd.Arm64.IsSupported,
        Isa.Dp => Dp.IsSupported,
        Isa.Fp16Native => HasFp16Arithmetic.Value,
        _ => false,
    };

    /// <summary>FEAT_FP16 from the kernel's HWCAP (.NET exposes no IsSupported for it), and the native kernel
    /// library linked in (NativeAOT linux-arm64 builds; a JIT run on a board has no library, so no variant).</summary>
    private static readonly Lazy<bool> HasFp16Arithmetic = new(() =>
        RuntimeInformation.ProcessArchitecture == Architecture.Arm64 && OperatingSystem.IsLinux() && (GetAuxVal(AtHwcap) & HwcapAsimdhp) != 0
        && F16GemvNative.Probe());

    [DllImport("libc", EntryPoint = "getauxval")]
    private static extern ulong GetAuxVal(ulong type);

    /// <summary>
    /// ISA levels the CPU reports (CPUID on x64, AT_HWCAP on ARM64) that this process does not use, so its
    /// kernels for them never run. On x64 a NativeAOT build folds <c>Avx2.IsSupported</c> and the AVX-512 checks
    /// to its compile-time instruction set (x86-64 unless <c>IlcInstructionSet</c> says more), so a
    /// default build runs the Vector128 kernels on an AVX2 CPU (3x to 78x slower, docs/performance.md); a JIT process
    /// loses a level only when <c>DOTNET_EnableAVX2=0</c> or the like turns it off. ARM64 builds detect Dp at run
    /// time (publish-profiles/README.md), so there the list is empty unless the runtime was told to ignore it.
    /// </summary>
    public static IReadOnlyList<Isa> Unused() => Reported.Value.Where(i => !Has(i)).ToArray();

    /// <summary>One sentence on <see cref="Unused"/> and the build that would use them; null when nothing is unused.</summary>
    public static string? UnusedAdvice()
    {
        var unused = Unused();
        if (unused.Count == 0) return null;
        string names = string.Join(" ", unused), them = unused.Count == 1 ? "it" : "them";
        if (RuntimeFeature.IsDynamicCodeSupported)
            return $"the CPU has {names} but this process does not use {them} (a DOTNET_Enable* setting turned {them} off?)";
        string set = unused.Any(i => i is Isa.Avx512BW or Isa.Avx512Vnni) ? "x86-64-v4" : unused.Any(i => i is Isa.Avx2 or Isa.AvxVnni) ? "x86-64-v3" : "";
        return $"the CPU has {names} but this NativeAOT binary was compiled without {them} and runs slower kernels" +
               (set == "" ? "" : $": publish with -p:IlcInstructionSet={set} (publish-profiles/README.md)");
    }

    /// <summary>What the CPU reports, read once.</summary>
    private static readonly Lazy<Isa[]> Reported = new(() =>
    {
        if (X86Base.IsSupported)
        {
            uint maxLeaf = (uint)X86Base.CpuId(0, 0).Eax;
            return FromCpuid(maxLeaf, (uint)X86Base.CpuId(1, 0).Ecx,
                maxLeaf >= 7 ? (uint)X86Base.CpuId(7, 0).Ebx : 0, maxLeaf >= 7 ? (uint)X86Base.CpuId(7, 1).Eax : 0);
        }
        if (RuntimeInformation.ProcessArchitecture == Architecture.Arm64 && OperatingSystem.IsLinux())
            return FromHwcap(GetAuxVal(AtHwcap));
        return [];
    });

    /// <summary>
    /// The x64 levels of <see cref="Isa"/> a CPU reports: leaf 0 EAX (the highest leaf), leaf 1 ECX, leaf 7 EBX and
    /// leaf 7 subleaf 1 EAX. AVX2 as .NET 10 needs it: AVX and FMA with OSXSAVE (the OS saves the vector state),
    /// then AVX2; AVX-512 as x86-64-v4 (F, DQ, CD, BW, VL); AVX-VNNI on AVX2.
    /// </summary>
    internal static Isa[] FromCpuid(uint maxLeaf, uint leaf1Ecx, uint leaf7Ebx, uint leaf7Sub1Eax)
    {
        static bool Bit(uint v, int b) => (v >> b & 1) != 0;
        bool avx = Bit(leaf1Ecx, 27) && Bit(leaf1Ecx, 28) && Bit(leaf1Ecx, 12);
        bool avx2 = avx && maxLeaf >= 7 && Bit(leaf7Ebx, 5);
        bool avx512 = avx2 && Bit(leaf7Ebx, 16) && Bit(leaf7Ebx, 17) && Bit(leaf7Ebx, 28) && Bit(leaf7Ebx, 30) && Bit(leaf7Ebx, 31);
        bool vnni = avx2 && Bit(leaf7Sub1Eax, 4);
        var list = new List<Isa> { Isa.Vector128 };
        if (avx2) list.Add(Isa.Avx2);
        if (vnni) list.Add(Isa.AvxVnni);
        if (avx512) list.Add(Isa.Avx512BW);
        if (avx512 && vnni) list.Add(Isa.Avx512Vnni);
        return [.. list];
    }

    /// <summary>The ARM64 levels a Linux AT_HWCAP reports: ASIMD (bit 1) and ASIMDDP (bit 20). FEAT_FP16 is left
    /// out: a JIT run has no native fp16 library by design (<see cref="HasFp16Arithmetic"/>).</summary>
    internal static Isa[] FromHwcap(ulong hwcap)
    {
        var list = new List<Isa>();
        if ((hwcap & HwcapAsimd) != 0) list.AddRange([Isa.Vector128, Isa.AdvSimd]);
        if ((hwcap & HwcapAsimd) != 0 && (hwcap & HwcapAsimddp) != 0) list.Add(Isa.Dp);
        return [.. list];
    }

    /// <summary>One line naming the CPU architecture and every ISA level present.</summary>
    public static string Describe() =>
        $"{RuntimeInformation.ProcessArchitecture}: " + string.Join(" ", Enum.GetValues<Isa>().Where(Has));
}
