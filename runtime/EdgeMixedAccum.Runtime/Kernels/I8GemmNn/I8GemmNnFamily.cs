using System.Runtime.CompilerServices;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// int8 GEMM with the inputs as columns, for convolutions in output layout: dot[i*n + q] = sum_j w_ij x_jq,
/// exact in int32, for i in [0, rows), q in [0, n). Operands come packed in pairs of consecutive j as two int16
/// halves of one int32 (<see cref="I8GemmNnPack"/>): wp is rows x kp (kp = ceil(k/2)), xp is kp rows of an
/// im2col panel with stride ldx &gt;= n. One multiply-add of pairs (VPMADDWD; SMULL/SMULL2 + ADDP on ARM) then
/// covers two columns of k per lane, vectorised across positions, so a conv with 8 channels and k = 9 runs at
/// full width. Every value in [-127, 127]; kp &lt;= <see cref="MaxKp"/>, so every sum is exact (order-free).
/// </summary>
public delegate void I8GemmNnFn(ReadOnlySpan<int> wp, ReadOnlySpan<int> xp, Span<int> dot, int rows, int kp, int n, int ldx);

/// <summary>The one variant list of the family (baseline first), read by the dispatcher, `ema selftest` and the tests.</summary>
public sealed class I8GemmNnFamily : IKernelFamily
{
    /// <summary>Pairs per row for which 2*kp*127*127 fits int32 (the i8-gemv bound on k).</summary>
    public const int MaxKp = I8GemvFamily.MaxK / 2;

    public static IReadOnlyList<KernelVariant<I8GemmNnFn>> Variants { get; } =
    [
        new("i8-gemm-nn-scalar", Isa.Scalar, I8GemmNnScalar.Run),
        new("i8-gemm-nn-4x2-avx2", Isa.Avx2, I8GemmNn4x2Avx2.Run),
        new("i8-gemm-nn-4x2-avx512bw", Isa.Avx512BW, I8GemmNn4x2Avx512BW.Run),
        new("i8-gemm-nn-4x2-advsimd", Isa.AdvSimd, I8GemmNn4x2AdvSimd.Run),
    ];

    public static I8GemmNnFamily Instance { get; } = new();

    public string Name => "i8-gemm-nn";
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
            yield return new(Name, v.Name, v.Isa, failure is null, failure ?? $"{I8GemmNnGolden.Cases.Count} golden cases bit-exact");
        }
    }

    /// <summary>Per-call check, before any unchecked load: reads stay in wp[0, rows*kp), xp[0, (kp-1)*ldx + n),
    /// writes in dot[0, rows*n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(ReadOnlySpan<int> wp, ReadOnlySpan<int> xp, Span<int> dot, int rows, int kp, int n, int ldx)
    {
        if (rows < 0 || kp < 0 || n < 0 || kp > MaxKp || ldx < n || (long)rows * kp > wp.Length || (long)rows * n > dot.Length
            || (kp > 0 && n > 0 && (long)(kp - 1) * ldx + n > xp.Length))
            throw new ArgumentException($"i8-gemm-nn: rows={rows} kp={kp} (max {MaxKp}) n={n} ldx={ldx} need wp>={(long)rows * kp} xp>={(kp > 0 && n > 0 ? (long)(kp - 1) * ldx + n : 0)} dot>={(long)rows * n}, ldx>=n; got wp={wp.Length} xp={xp.Length} dot={dot.Length}");
    }
}

/// <summary>The pair packing of i8-gemm-nn: element j and j+1 of a row (or of a panel column) as the low and
/// high int16 of one int32; a missing j+1 (odd k) is 0.</summary>
public static class I8GemmNnPack
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Pair(int lo, int hi) => (ushort)(short)lo | (hi << 16);

    public static int Lo(int p) => (short)p;
    public static int Hi(int p) => p >> 16;

    /// <summary>wp[i*kp + jp] = Pair(w[i*k + 2jp], w[i*k + 2jp + 1]).</summary>
    public static void Weights(ReadOnlySpan<sbyte> w, int rows, int k, Span<int> wp)
    {
        int kp = (k + 1) / 2;
        for (int i = 0; i < rows; i++)
            for (int jp = 0; jp < kp; jp++)
            {
                int j = 2 * jp;
                wp[i * kp + jp] = Pair(w[i * k + j], j + 1 < k ? w[i * k + j + 1] : 0);
            }
    }

    /// <summary>xp[jp*ldx + q] = Pair(x[2jp*ldx + q], x[(2jp+1)*ldx + q]) from an unpacked k x ldx panel.</summary>
    public static void Panel(ReadOnlySpan<sbyte> x, int k, int ldx, Span<int> xp)
    {
        int kp = (k + 1) / 2;
        for (int jp = 0; jp < kp; jp++)
            for (int q = 0; q < ldx; q++)
            {
                int j = 2 * jp;
                xp[jp * ldx + q] = Pair(x[j * ldx + q], j + 1 < k ? x[(j + 1) * ldx + q] : 0);
            }
    }
}
