using System.Runtime.CompilerServices;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// Register-blocked fp32 GEMM for batch > 1 and convolution (im2col patches): y[s*rows + i] = sum_j
/// w[i*k + j] * x[s*k + j] for i in [0, rows), s in [0, n). w is rows x k row-major (the model's weight
/// matrix as stored, no packing), x is n x k row-major (n input vectors: samples or conv patches), y is
/// n x rows (one output vector per input vector). Accumulation is fp32; variants differ in summation order
/// (each states its own, FMA allowed) and are all within gamma_k(2^-24) * sum_j |w_ij x_sj| of the exact
/// value (F32GemvRowsGolden.Budget); the scalar variant is the fixed-order (sequential, unfused) reference.
/// k = 0 gives zeros; rows = 0 or n = 0 writes nothing.
/// </summary>
public delegate void F32GemmFn(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n);

/// <summary>The one variant list of the family (baseline first), read by the dispatcher, `ema selftest` and the tests.</summary>
public sealed class F32GemmFamily : IKernelFamily
{
    public static IReadOnlyList<KernelVariant<F32GemmFn>> Variants { get; } =
    [
        new("f32-gemm-scalar", Isa.Scalar, F32GemmScalar.Run),
        new("f32-gemm-4x2-vector128", Isa.Vector128, F32Gemm4x2Vector128.Run),
        new("f32-gemm-4x2-avx2", Isa.Avx2, F32Gemm4x2Avx2.Run),
        // AVX-512F only; the Isa enum's one AVX-512 level is Avx512BW (in .NET 10 either implies the other).
        new("f32-gemm-4x4-avx512f", Isa.Avx512BW, F32Gemm4x4Avx512F.Run),
        new("f32-gemm-4x4-advsimd", Isa.AdvSimd, F32Gemm4x4AdvSimd.Run),
    ];

    public static F32GemmFamily Instance { get; } = new();

    public string Name => "f32-gemm";
    IReadOnlyList<(string Name, Isa Isa)> IKernelFamily.Variants { get; } = Variants.Select(v => (v.Name, v.Isa)).ToArray();
    public string Selected(KernelOptions options) => KernelSelect.Best(Variants, options).Name;

    public IEnumerable<SelfTestResult> SelfTest()
    {
        var pinned = F32GemmGolden.VerifyPin();
        foreach (var v in Variants)
        {
            if (!v.Supported) continue;
            if (pinned is not null) { yield return new(Name, v.Name, v.Isa, false, pinned); continue; }
            var failure = F32GemmGolden.Check(v.Fn, bitExactToScalar: v.Isa == Isa.Scalar);
            yield return new(Name, v.Name, v.Isa, failure is null,
                failure ?? $"{F32GemmGolden.Cases.Count} golden cases within gamma_k(2^-24)*sum|w||x|" + (v.Isa == Isa.Scalar ? ", bit-exact to the pinned order" : ""));
        }
    }

    /// <summary>Per-call check, before any unchecked load: non-negative shape, w holds rows*k values, x n*k,
    /// y n*rows (products in 64 bits, so a huge shape cannot wrap past the check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n)
    {
        if (rows < 0 || k < 0 || n < 0)
            throw new ArgumentOutOfRangeException(rows < 0 ? nameof(rows) : k < 0 ? nameof(k) : nameof(n),
                $"f32-gemm: negative shape rows={rows} k={k} n={n}");
        if ((long)rows * k > w.Length || (long)n * k > x.Length || (long)n * rows > y.Length)
            throw new ArgumentException($"f32-gemm: rows={rows} k={k} n={n} needs w>={(long)rows * k} x>={(long)n * k} y>={(long)n * rows}; got w={w.Length} x={x.Length} y={y.Length}");
    }

    /// <summary>Input vectors per cache chunk: the SIMD variants sweep all row tiles over one chunk of x
    /// before the next, so the chunk (about 256 KB of x) stays in L2 while each w tile is read once per chunk.
    /// A multiple of the tile's vector count nr, at least nr. Changes no summation order.</summary>
    internal static int SampleChunk(int k, int nr) => Math.Max(nr, 65536 / Math.Max(k, 1) / nr * nr);
}
