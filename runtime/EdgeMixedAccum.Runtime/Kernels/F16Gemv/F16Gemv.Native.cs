// f16acc GEMV, native FEAT_FP16 kernel (runtime/native/f16acc.c: vfmaq_f16 = FMLA .8H), linked statically
// into the NativeAOT binary for linux-arm64 (runtime/native/f16acc.targets, DirectPInvoke "ema_f16acc").
//
// Order (defined in F16Gemv.cs, identical to F16Gemv.Emulated.cs): 8 fp16 lanes from +0;
// acc_(j mod 8) = fma16(w[j], x[j], acc_(j mod 8)) for j = 0..k-1 (one rounding per step; the tail is one
// FMLA with lanes padded w = -0, x = +0); then y = ((a0+a1)+(a2+a3)) + ((a4+a5)+(a6+a7)) in fp16 (FADDP).
// absDot: same lanes and tree in fp32.
//
// Only selected when CpuFeatures says Isa.Fp16Native (HWCAP_ASIMDHP and the library answers its ABI probe),
// so on x64, on Cortex-A72/A57, and in JIT runs without the static library it is never called.
using System.Runtime.InteropServices;

namespace EdgeMixedAccum.Runtime.Kernels;

public static unsafe class F16GemvNative
{
    /// <summary>The ABI version f16acc.c reports; bumped when the entry point's contract changes.</summary>
    public const int AbiVersion = 1;

    public static void Gemv(ReadOnlySpan<Half> w, ReadOnlySpan<Half> x, Span<Half> y, Span<float> absDot, int rows, int k)
    {
        F16Gemv.CheckArgs(w, x, y, absDot, rows, k);
        if (rows == 0) return;
        fixed (Half* pw = w)
        fixed (Half* px = x)
        fixed (Half* py = y)
        fixed (float* pa = absDot)   // null when absDot is empty: the C side then skips it
            ema_f16acc_gemv(pw, px, py, absDot.IsEmpty ? null : pa, rows, k);
    }

    /// <summary>True when the native library is linked in and speaks <see cref="AbiVersion"/>.
    /// Call only where FEAT_FP16 is known to be present (CpuFeatures does).</summary>
    internal static bool Probe()
    {
        try
        {
            return ema_f16acc_abi() == AbiVersion;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("ema_f16acc", EntryPoint = "ema_f16acc_gemv", ExactSpelling = true)]
    private static extern void ema_f16acc_gemv(Half* w, Half* x, Half* y, float* absDot, int rows, int k);

    [DllImport("ema_f16acc", EntryPoint = "ema_f16acc_abi", ExactSpelling = true)]
    private static extern int ema_f16acc_abi();
}
