using System.Runtime.CompilerServices;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// int8 GEMV with the fused magnitude estimator: dot[i] = sum_j w[i,j]*x[j] and, in the same pass over w,
/// absDot[i] = sum_j |w[i,j]|*|x[j]| (both exact in int32). w is rows x k row-major, x has k elements,
/// every value in [-127, 127] (symmetric quantisation; -128 is outside the contract and gives
/// variant-dependent results). An empty absDot skips the magnitude sum.
/// </summary>
public delegate void I8GemvFn(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, Span<int> absDot, int rows, int k);

/// <summary>The one variant list of the family (baseline first), read by the dispatcher, `ema selftest` and the tests.</summary>
public sealed class I8GemvFamily : IKernelFamily
{
    /// <summary>Largest k for which k*127*127 fits int32, so every sum is exact.</summary>
    public const int MaxK = int.MaxValue / (127 * 127);

    public static IReadOnlyList<KernelVariant<I8GemvFn>> Variants { get; } =
    [
        new("i8-gemv-scalar", Isa.Scalar, I8GemvScalar.Run),
        new("i8-gemv-4x16-vector128", Isa.Vector128, I8Gemv4x16Vector128.Run),
        new("i8-gemv-4x32-avx2", Isa.Avx2, I8Gemv4x32Avx2.Run),
        new("i8-gemv-4x32-avxvnni", Isa.AvxVnni, I8Gemv4x32AvxVnni.Run),
        new("i8-gemv-4x64-avx512bw", Isa.Avx512BW, I8Gemv4x64Avx512BW.Run),
        new("i8-gemv-8x16-advsimd", Isa.AdvSimd, I8Gemv8x16AdvSimd.Run),
        new("i8-gemv-8x16-dp", Isa.Dp, I8Gemv8x16Dp.Run),
    ];

    public static I8GemvFamily Instance { get; } = new();

    public string Name => "i8-gemv";
    IReadOnlyList<(string Name, Isa Isa)> IKernelFamily.Variants { get; } = Variants.Select(v => (v.Name, v.Isa)).ToArray();
    public string Selected(KernelOptions options) => KernelSelect.Best(Variants, options).Name;

    public IEnumerable<SelfTestResult> SelfTest()
    {
        var pinned = I8GemvGolden.VerifyPin();
        foreach (var v in Variants)
        {
            if (!v.Supported) continue;
            if (pinned is not null) { yield return new(Name, v.Name, v.Isa, false, pinned); continue; }
            var failure = I8GemvGolden.Check(v.Fn);
            yield return new(Name, v.Name, v.Isa, failure is null, failure ?? $"{I8GemvGolden.Cases.Count} golden cases bit-exact");
        }
    }

    /// <summary>Shared argument check, run once per call before any unchecked load: after it, every kernel's
    /// reads stay inside w[0, rows*k), x[0, k) and writes inside dot/absDot[0, rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, Span<int> absDot, int rows, int k)
    {
        if (rows < 0 || k < 0 || k > MaxK || (long)rows * k > w.Length || x.Length < k || dot.Length < rows
            || (!absDot.IsEmpty && absDot.Length < rows))
            ThrowBadArgs(w.Length, x.Length, dot.Length, absDot.Length, rows, k);
    }

    private static void ThrowBadArgs(int w, int x, int dot, int abs, int rows, int k) =>
        throw new ArgumentException($"i8-gemv: rows={rows} k={k} (max {MaxK}) need w>={(long)rows * k} x>={k} dot>={rows} absDot empty or >={rows}; got w={w} x={x} dot={dot} absDot={abs}");
}

/// <summary>Compile-time switch for the magnitude sum: kernels are generic over it, so the JIT emits one
/// loop with and one without absDot and the choice costs nothing inside the loop.</summary>
internal interface IAbsMode { static abstract bool On { get; } }
internal struct WithAbs : IAbsMode { public static bool On => true; }
internal struct NoAbs : IAbsMode { public static bool On => false; }
