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
    private const ulong HwcapAsimdhp = 1 << 10; // AT_HWCAP bit for FEAT_FP16 vector arithmetic
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

    /// <summary>One line naming the CPU architecture and every ISA level present.</summary>
    public static string Describe() =>
        $"{RuntimeInformation.ProcessArchitecture}: " + string.Join(" ", Enum.GetValues<Isa>().Where(Has));
}
