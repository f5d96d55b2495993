using System.Runtime.CompilerServices;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// fp32 GEMM with the inputs as columns, for convolutions in output layout: y[i*n + q] = sum_j w[i*k + j] *
/// x[j*ldx + q] for i in [0, rows), q in [0, n). w is rows x k row-major (the layer's weights as stored), x is
/// k rows of an im2col panel (row j holds input element j of every output position, stride ldx &gt;= n), y is
/// rows x n: one row per output channel, positions contiguous, which is the NCHW output layout. Vectorised
/// across positions, so a conv with few channels or a short kernel (k = 9) runs at full width.
/// Order, the same in every variant, so all are bit-identical to the scalar reference on every ISA: per
/// output one fp32 accumulator from 0, j ascending, acc = fma(w_ij, x_jq, acc) (one rounding per step).
/// k = 0 gives zeros; rows = 0 or n = 0 writes nothing.
/// </summary>
public delegate void F32GemmNnFn(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n, int ldx);

/// <summary>The one variant list of the family (baseline first), read by the dispatcher, `ema selftest` and the tests.</summary>
public sealed class F32GemmNnFamily : IKernelFamily
{
    public static IReadOnlyList<KernelVariant<F32GemmNnFn>> Variants { get; } =
    [
        new("f32-gemm-nn-scalar", Isa.Scalar, F32GemmNnScalar.Run),
        new("f32-gemm-nn-4x2-vector128", Isa.Vector128, F32GemmNn4x2Vector128.Run),
        new("f32-gemm-nn-4x2-avx2", Isa.Avx2, F32GemmNn4x2Avx2.Run),
        new("f32-gemm-nn-4x2-avx512f", Isa.Avx512BW, F32GemmNn4x2Avx512F.Run),
    ];

    public static F32GemmNnFamily Instance { get; } = new();

    public string Name => "f32-gemm-nn";
    IReadOnlyList<(string Name, Isa Isa)> IKernelFamily.Variants { get; } = Variants.Select(v => (v.Name, v.Isa)).ToArray();
    public string Selected(KernelOptions options) => KernelSelect.Best(Variants, options).Name;

    public IEnumerable<SelfTestResult> SelfTest()
    {
        var pinned = F32GemmNnGolden.VerifyPin();
        foreach (var v in Variants)
        {
            if (!v.Supported) continue;
            if (pinned is not null) { yield return new(Name, v.Name, v.Isa, false, pinned); continue; }
            var failure = F32GemmNnGolden.Check(v.Fn);
            yield return new(Name, v.Name, v.Isa, failure is null, failure ?? $"{F32GemmNnGolden.Cases.Count} golden cases bit-exact to the fused order, within gamma_k(2^-24)*sum|w||x|");
        }
    }

    /// <summary>Per-call check, before any unchecked load: after it, reads stay in w[0, rows*k) and
    /// x[0, (k-1)*ldx + n), writes in y[0, rows*n) (products in 64 bits, so no shape wraps past it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n, int ldx)
    {
        if (rows < 0 || k < 0 || n < 0 || ldx < n || (long)rows * k > w.Length || (long)rows * n > y.Length
            || (k > 0 && n > 0 && (long)(k - 1) * ldx + n > x.Length))
            throw new ArgumentException($"f32-gemm-nn: rows={rows} k={k} n={n} ldx={ldx} need w>={(long)rows * k} x>={(k > 0 && n > 0 ? (long)(k - 1) * ldx + n : 0)} y>={(long)rows * n}, ldx>=n; got w={w.Length} x={x.Length} y={y.Length}");
    }
}
