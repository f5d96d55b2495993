using System.Buffers.Binary;
using System.IO.Hashing;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The f32-gemm-nn golden vectors: rows 0..9 x k in Ks (conv kernel sizes: 1x1, 3, 3x3, odd channel counts)
/// x n in Ns (0 through past 2 vectors of 16 and the tails), with a panel stride ldx = n + (rows % 3) so
/// padded panels are covered; values uniform in [-1, 1), spread over 2^-20..2^20, or cancelling in pairs.
/// Expected: the fp64 value with its sum|w||x| (the named budget gamma_k(2^-24)*sum|w||x| must hold) and the
/// fused-order fp32 value from a plain loop written here, which every variant must match bit for bit. A
/// committed CRC-32 of both pins the table and the order.
/// </summary>
public static class F32GemmNnGolden
{
    public const uint ExpectedCrc = 0xF574FCCD;

    public static readonly int[] Ks = [0, 1, 2, 3, 8, 9, 16, 17, 72, 288];
    public static readonly int[] Ns = [0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 65];

    public sealed record Case(string Name, int Rows, int K, int N, int Ldx, float[] W, float[] X, double[] Exact, double[] SumAbs, float[] Reference);

    private static readonly Lazy<IReadOnlyList<Case>> LazyCases = new(Build);
    public static IReadOnlyList<Case> Cases => LazyCases.Value;

    private static IReadOnlyList<Case> Build()
    {
        var cases = new List<Case>();
        for (int ki = 0; ki < Ks.Length; ki++)
            for (int rows = 0; rows <= 9; rows++)
                foreach (int n in Ns)
                    cases.Add(Make((ki + rows + n) % 3, rows, Ks[ki], n, n + rows % 3));
        return cases;
    }

    public static Case Make(int pattern, int rows, int k, int n, int ldx)
    {
        var rng = new GoldenRng(((ulong)pattern << 50) ^ ((ulong)ldx << 36) ^ ((ulong)n << 24) ^ ((ulong)rows << 16) ^ (ulong)k ^ 0x6E6E_F32UL);
        var w = new float[rows * k];
        var x = new float[k * ldx];
        for (int t = 0; t < w.Length; t++) w[t] = Value(ref rng, pattern, t % k, t > 0 ? w[t - 1] : 0, negate: false);
        for (int j = 0; j < k; j++)
            for (int q = 0; q < ldx; q++)
                x[j * ldx + q] = Value(ref rng, pattern, j, j > 0 ? x[(j - 1) * ldx + q] : 0, negate: true);
        var exact = new double[rows * n];
        var sumAbs = new double[rows * n];
        var reference = new float[rows * n];
        for (int i = 0; i < rows; i++)
            for (int q = 0; q < n; q++)
            {
                double e = 0, a = 0;
                float acc = 0;
                for (int j = 0; j < k; j++)
                {
                    double prod = (double)w[i * k + j] * x[j * ldx + q];
                    e += prod; a += Math.Abs(prod);
                    acc = MathF.FusedMultiplyAdd(w[i * k + j], x[j * ldx + q], acc);
                }
                (exact[i * n + q], sumAbs[i * n + q], reference[i * n + q]) = (e, a, acc);
            }
        return new($"p{pattern} rows={rows} k={k} n={n} ldx={ldx}", rows, k, n, ldx, w, x, exact, sumAbs, reference);
    }

    /// <summary>Pattern 2 cancels: even j random, odd j repeats the previous (w) or its negation (x).</summary>
    private static float Value(ref GoldenRng rng, int pattern, int j, float previous, bool negate) => pattern switch
    {
        1 => rng.Unit() * MathF.ScaleB(1f, rng.Int(-20, 20)),
        2 when j % 2 == 1 => negate ? -previous : previous,
        _ => rng.Unit(),
    };

    public static uint ComputeCrc()
    {
        var crc = new Crc32();
        Span<byte> b = stackalloc byte[12];
        foreach (var c in Cases)
            for (int o = 0; o < c.Exact.Length; o++)
            {
                BinaryPrimitives.WriteDoubleLittleEndian(b, c.Exact[o]);
                BinaryPrimitives.WriteSingleLittleEndian(b[8..], c.Reference[o]);
                crc.Append(b);
            }
        return crc.GetCurrentHashAsUInt32();
    }

    public static string? VerifyPin()
    {
        uint crc = ComputeCrc();
        return crc == ExpectedCrc ? null : $"golden table drifted: CRC-32 0x{crc:X8}, committed 0x{ExpectedCrc:X8}";
    }

    /// <summary>Null when every output is bit-identical to the fused-order reference and within the budget.</summary>
    public static string? Compare(Case c, ReadOnlySpan<float> y)
    {
        for (int o = 0; o < c.Exact.Length; o++)
        {
            double err = Math.Abs(y[o] - c.Exact[o]), budget = F32GemvRowsGolden.Budget(c.K, c.SumAbs[o]);
            if (!(err <= budget))
                return $"{c.Name}: y[{o}] (i={o / c.N}, q={o % c.N}) = {y[o]:R}, exact {c.Exact[o]:R}, error {err:G3} > budget {budget:G3}";
            if (BitConverter.SingleToInt32Bits(y[o]) != BitConverter.SingleToInt32Bits(c.Reference[o]))
                return $"{c.Name}: y[{o}] (i={o / c.N}, q={o % c.N}) = {y[o]:R}, fused-order reference {c.Reference[o]:R}";
        }
        return null;
    }

    /// <summary>Every case on exactly sized arrays, y pre-filled with NaN (an output never written fails).</summary>
    public static string? Check(F32GemmNnFn fn)
    {
        foreach (var c in Cases)
        {
            var y = new float[c.Rows * c.N];
            Array.Fill(y, float.NaN);
            fn(c.W, c.X.AsSpan(0, c.K == 0 || c.N == 0 ? 0 : (c.K - 1) * c.Ldx + c.N), y, c.Rows, c.K, c.N, c.Ldx);
            if (Compare(c, y) is { } miss) return miss;
        }
        return null;
    }
}
