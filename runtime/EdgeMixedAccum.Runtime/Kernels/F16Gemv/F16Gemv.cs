// f16acc GEMV: fp16 weights and activations, fp16 products, fp16 accumulator.
//
// THE ACCUMULATION ORDER (one definition; F16Gemv.Emulated.cs and runtime/native/f16acc.c implement it
// bit for bit, and F16GemvGolden pins it with a checksum):
//   for each row i, with w_i = w[i*k .. i*k+k) and x = x[0..k):
//   1. Eight fp16 lanes acc_0..acc_7 start at +0.
//   2. For j = 0, 1, ..., k-1 in increasing order: acc_(j mod 8) = fma16(w_i[j], x[j], acc_(j mod 8)),
//      where fma16(a, b, c) = RNE_fp16(a*b + c) is ONE rounding of the exact value (FMLA .8H / FMADD h).
//      The native kernel runs full blocks of 8 with FMLA v.8h; the tail (k mod 8 elements) is one more
//      FMLA with the missing lanes padded w = -0, x = +0: their product is -0 and c + (-0) == c for every c
//      (including -0, +-inf and NaN), so padding leaves those lanes untouched, exactly as the per-element
//      definition says.
//   3. Fixed pairwise (FADDP) tree, each add rounded to fp16:
//      y_i = ((acc_0 + acc_1) + (acc_2 + acc_3)) + ((acc_4 + acc_5) + (acc_6 + acc_7)).
//   4. No bias (the engine adds bias in fp32). IEEE binary16 with subnormals (FPCR.FZ16 = 0), RNE;
//      overflow gives +-inf; inf - inf gives the default NaN 0x7E00 (what ARM produces for an invalid
//      operation). Only NaN *inputs* may give other NaN payloads natively: bit-exactness is promised for
//      finite and infinite inputs.
//   absDot (optional; skipped when the span is empty): the same lanes and the same tree in fp32:
//      abs_(j mod 8) += |w_i[j]| * |x[j]| (the product of two fp16 values is exact in fp32, so mul+add and
//      fma agree), then ((abs_0 + abs_1) + (abs_2 + abs_3)) + ((abs_4 + abs_5) + (abs_6 + abs_7)) in fp32.
//      It is sum|w||x| up to fp32 rounding (relative error <= gamma_k(2^-24), negligible against the fp16
//      bound gamma_k(2^-11) it scales). A NaN absDot (inf * 0 in the inputs) is the fp32 default NaN 0x7FC00000.
using System.Runtime.InteropServices;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>y[i] = fp16-accumulated dot(w row i, x) in the order documented in F16Gemv.cs; absDot[i] =
/// sum |w||x| in fp32 (skipped when absDot is empty). w is row-major rows x k.</summary>
public delegate void F16GemvFn(ReadOnlySpan<Half> w, ReadOnlySpan<Half> x, Span<Half> y, Span<float> absDot, int rows, int k);

/// <summary>The f16acc family: the exact C# emulation (scalar reference, and on Vector128 for x64 and
/// Cortex-A72/A57) and the native FMLA .8H kernel (FEAT_FP16).</summary>
public static class F16Gemv
{
    /// <summary>Lanes of the accumulator (FMLA .8H).</summary>
    public const int Lanes = 8;

    /// <summary>The default NaN every path produces for an invalid operation.</summary>
    public const ushort DefaultNaNBits = 0x7E00;

    /// <summary>The fp32 default NaN (absDot of inf * 0): ARM's, positive; x64 hardware would make 0xFFC00000.</summary>
    public const uint DefaultNaNBits32 = 0x7FC0_0000;

    public static IReadOnlyList<KernelVariant<F16GemvFn>> Variants { get; } =
    [
        new("f16acc-gemv-8-emulated", Isa.Scalar, F16GemvEmulated.Gemv),
        new("f16acc-gemv-8-emulated-v128", Isa.Vector128, F16GemvVector128.Gemv),
        new("f16acc-gemv-8-fp16native", Isa.Fp16Native, F16GemvNative.Gemv),
    ];

    /// <summary>Throws unless the spans hold what rows and k say (absDot may be empty).</summary>
    internal static void CheckArgs(ReadOnlySpan<Half> w, ReadOnlySpan<Half> x, Span<Half> y, Span<float> absDot, int rows, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if ((long)rows * k > w.Length)
            throw new ArgumentException($"w holds {w.Length} values, need rows*k = {(long)rows * k}.", nameof(w));
        if (x.Length < k)
            throw new ArgumentException($"x holds {x.Length} values, need k = {k}.", nameof(x));
        if (y.Length < rows)
            throw new ArgumentException($"y holds {y.Length} values, need rows = {rows}.", nameof(y));
        if (!absDot.IsEmpty && absDot.Length < rows)
            throw new ArgumentException($"absDot holds {absDot.Length} values, need rows = {rows} (or empty to skip).", nameof(absDot));
    }
}

/// <summary>The f16acc-gemv family as `ema selftest` sees it.</summary>
public sealed class F16GemvFamily : IKernelFamily
{
    public static F16GemvFamily Instance { get; } = new();

    public string Name => "f16acc-gemv";

    public IReadOnlyList<(string Name, Isa Isa)> Variants { get; } = F16Gemv.Variants.Select(v => (v.Name, v.Isa)).ToArray();

    public string Selected(KernelOptions options) => KernelSelect.Best(F16Gemv.Variants, options).Name;

    public IEnumerable<SelfTestResult> SelfTest()
    {
        foreach (var v in F16Gemv.Variants)
        {
            if (!v.Supported) continue;
            SelfTestResult r;
            try
            {
                ulong sum = F16GemvGolden.Checksum(v.Fn);
                bool ok = sum == F16GemvGolden.ExpectedChecksum;
                r = new(Name, v.Name, v.Isa, ok, ok
                    ? $"{F16GemvGolden.Cases.Count} golden cases bit-exact (checksum {sum:X16})"
                    : $"checksum {sum:X16}, expected {F16GemvGolden.ExpectedChecksum:X16}");
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or MarshalDirectiveException)
            {
                r = new(Name, v.Name, v.Isa, false, e.GetType().Name + ": " + e.Message);
            }
            yield return r;
        }
    }
}
