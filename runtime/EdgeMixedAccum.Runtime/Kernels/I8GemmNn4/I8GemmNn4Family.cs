using System.Runtime.CompilerServices;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// i8-gemm-nn with the operands packed in quads: dot[i*n + q] = sum_j w_ij x_jq, exact in int32, where wq holds
/// four consecutive j of a weight row as the four bytes of one int32 (<see cref="I8GemmNn4Pack"/>, rows x kq,
/// kq = ceil(k/4)) and xq four consecutive panel rows of each position (kq rows of stride ldx &gt;= n). One
/// dot-product instruction then covers four columns of k per lane: SDOT on ARMv8.2 (16 multiply-adds per
/// instruction), VPDPBUSD on AVX-VNNI (32 per ymm instruction, with the accumulate), twice to four times the
/// multiply-adds per instruction of the pair layout (<see cref="I8GemmNnFn"/>). Every value in [-127, 127];
/// kq &lt;= <see cref="MaxKq"/>, so every true sum fits int32 (exact, order-free; wrapping intermediates of the
/// VNNI form's +128 bias cancel exactly).
/// </summary>
public delegate void I8GemmNn4Fn(ReadOnlySpan<int> wq, ReadOnlySpan<int> xq, Span<int> dot, int rows, int kq, int n, int ldx);

/// <summary>The one variant list of the family (baseline first), read by the dispatcher, `ema selftest` and the
/// tests. The engine uses the quad layout only where a vector variant runs (else the pair family's).</summary>
public sealed class I8GemmNn4Family : IKernelFamily
{
    /// <summary>Quads per row for which 4*kq*127*127 fits int32 (the i8-gemv bound on k).</summary>
    public const int MaxKq = I8GemvFamily.MaxK / 4;

    public static IReadOnlyList<KernelVariant<I8GemmNn4Fn>> Variants { get; } =
    [
        new("i8-gemm-nn4-scalar", Isa.Scalar, I8GemmNn4Scalar.Run),
        new("i8-gemm-nn4-4x2-avxvnni", Isa.AvxVnni, I8GemmNn44x2AvxVnni.Run),
        new("i8-gemm-nn4-4x4-dp", Isa.Dp, I8GemmNn44x4Dp.Run),
    ];

    public static I8GemmNn4Family Instance { get; } = new();

    public string Name => "i8-gemm-nn4";
    IReadOnlyList<(string Name, Isa Isa)> IKernelFamily.Variants { get; } = Variants.Select(v => (v.Name, v.Isa)).ToArray();
    public string Selected(KernelOptions options) => KernelSelect.Best(Variants, options).Name;

    public IEnumerable<SelfTestResult> SelfTest()
    {
        var pinned = I8GemmNnGolden.VerifyPin();
        foreach (var v in Variants)
        {
            if (!v.Supported) continue;
            if (pinned is not null) { yield return new(Name, v.Name, v.Isa, false, pinned); continue; }
            var failure = I8GemmNnGolden.Check(v.Fn);
            yield return new(Name, v.Name, v.Isa, failure is null, failure ?? $"{I8GemmNnGolden.Cases.Count} golden cases (i8-gemm-nn's, packed in quads) bit-exact");
        }
    }

    /// <summary>Per-call check, before any unchecked load: reads stay in wq[0, rows*kq), xq[0, (kq-1)*ldx + n),
    /// writes in dot[0, rows*n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(ReadOnlySpan<int> wq, ReadOnlySpan<int> xq, Span<int> dot, int rows, int kq, int n, int ldx)
    {
        if (rows < 0 || kq < 0 || n < 0 || kq > MaxKq || ldx < n || (long)rows * kq > wq.Length || (long)rows * n > dot.Length
            || (kq > 0 && n > 0 && (long)(kq - 1) * ldx + n > xq.Length))
            throw new ArgumentException($"i8-gemm-nn4: rows={rows} kq={kq} (max {MaxKq}) n={n} ldx={ldx} need wq>={(long)rows * kq} xq>={(kq > 0 && n > 0 ? (long)(kq - 1) * ldx + n : 0)} dot>={(long)rows * n}, ldx>=n; got wq={wq.Length} xq={xq.Length} dot={dot.Length}");
    }
}

/// <summary>The quad packing of i8-gemm-nn4: elements j..j+3 of a row (or of a panel column) as bytes 0..3 of one
/// int32 (two's complement); missing ones past k are 0.</summary>
public static class I8GemmNn4Pack
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Quad(int b0, int b1, int b2, int b3) => (byte)b0 | ((byte)b1 << 8) | ((byte)b2 << 16) | ((byte)b3 << 24);

    /// <summary>Byte b (0..3) of a quad, sign-extended.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Byte(int quad, int b) => (sbyte)(quad >> (8 * b));

    /// <summary>wq[i*kq + jq] = Quad(w[i*k + 4jq .. 4jq + 3]).</summary>
    public static void Weights(ReadOnlySpan<sbyte> w, int rows, int k, Span<int> wq)
    {
        int kq = (k + 3) / 4;
        for (int i = 0; i < rows; i++)
            for (int jq = 0; jq < kq; jq++)
            {
                int j = 4 * jq;
                wq[i * kq + jq] = Quad(At(w, i * k, j, k, 1), At(w, i * k, j + 1, k, 1), At(w, i * k, j + 2, k, 1), At(w, i * k, j + 3, k, 1));
            }
    }

    /// <summary>xq[jq*ldx + q] = Quad(x[4jq*ldx + q], .., x[(4jq+3)*ldx + q]) from an unpacked k x ldx panel.</summary>
    public static void Panel(ReadOnlySpan<sbyte> x, int k, int ldx, Span<int> xq)
    {
        int kq = (k + 3) / 4;
        for (int jq = 0; jq < kq; jq++)
            for (int q = 0; q < ldx; q++)
            {
                int j = 4 * jq;
                xq[jq * ldx + q] = Quad(At(x, q, j, k, ldx), At(x, q, j + 1, k, ldx), At(x, q, j + 2, k, ldx), At(x, q, j + 3, k, ldx));
            }
    }

    /// <summary>Element j (of k) at start + j*stride, or 0 past k.</summary>
    private static int At(ReadOnlySpan<sbyte> v, int start, int j, int k, int stride) => j < k ? v[start + j * stride] : 0;
}
