using System.Runtime.CompilerServices;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// int8 GEMM for batch &gt; 1 and convolution patches: dot[s*rows + i] = sum_j w[i*k + j] * x[s*k + j], exact in
/// int32. w is rows x k row-major (the i8-gemv layout, no packing), x is n x k row-major (n input vectors:
/// samples or conv patches), dot is n x rows (one i8-gemv output per vector). Every value in [-127, 127]
/// (symmetric quantisation; -128 is outside the contract), k &lt;= <see cref="I8GemmFamily.MaxK"/>.
/// </summary>
public delegate void I8GemmFn(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, int rows, int k, int n);

/// <summary>The one variant list of the family (baseline first), read by the dispatcher, `ema selftest` and the tests.</summary>
public sealed class I8GemmFamily : IKernelFamily
{
    /// <summary>Largest k for which k*127*127 fits int32, so every sum is exact (the same bound as i8-gemv).</summary>
    public const int MaxK = I8GemvFamily.MaxK;

    public static IReadOnlyList<KernelVariant<I8GemmFn>> Variants { get; } =
    [
        new("i8-gemm-scalar", Isa.Scalar, I8GemmScalar.Run),
        new("i8-gemm-4x2-avx2", Isa.Avx2, I8Gemm4x2Avx2.Run),
        new("i8-gemm-4x2-avxvnni", Isa.AvxVnni, I8Gemm4x2AvxVnni.Run),
        new("i8-gemm-4x4-avx512bw", Isa.Avx512BW, I8Gemm4x4Avx512BW.Run),
        new("i8-gemm-4x4-avx512vnni", Isa.Avx512Vnni, I8Gemm4x4Avx512Vnni.Run),
        new("i8-gemm-4x4-advsimd", Isa.AdvSimd, I8Gemm4x4AdvSimd.Run),
        new("i8-gemm-4x4-dp", Isa.Dp, I8Gemm4x4Dp.Run),
    ];

    public static I8GemmFamily Instance { get; } = new();

    public string Name => "i8-gemm";
    IReadOnlyList<(string Name, Isa Isa)> IKernelFamily.Variants { get; } = Variants.Select(v => (v.Name, v.Isa)).ToArray();
    public string Selected(KernelOptions options) => KernelSelect.Best(Variants, options).Name;

    public IEnumerable<SelfTestResult> SelfTest()
    {
        var pinned = I8GemmGolden.VerifyPin();
        foreach (var v in Variants)
        {
            if (!v.Supported) continue;
            if (pinned is not null) { yield return new(Name, v.Name, v.Isa, false, pinned); continue; }
            var failure = I8GemmGolden.Check(v.Fn);
            yield return new(Name, v.Name, v.Isa, failure is null, failure ?? $"{I8GemmGolden.Cases.Count} golden cases bit-exact");
        }
    }

    /// <summary>Shared argument check, run once per call before any unchecked load: after it, every kernel's
    /// reads stay inside w[0, rows*k), x[0, n*k) and writes inside dot[0, n*rows), and all three products fit int.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, int rows, int k, int n)
    {
        if (rows < 0 || k < 0 || n < 0 || k > MaxK || (long)rows * k > w.Length || (long)n * k > x.Length || (long)n * rows > dot.Length)
            ThrowBadArgs(w.Length, x.Length, dot.Length, rows, k, n);
    }

    private static void ThrowBadArgs(int w, int x, int dot, int rows, int k, int n) =>
        throw new ArgumentException($"i8-gemm: rows={rows} k={k} (max {MaxK}) n={n} need w>={(long)rows * k} x>={(long)n * k} dot>={(long)n * rows}; got w={w} x={x} dot={dot}");
}
