using System.Buffers.Binary;
using System.IO.Hashing;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The f32-gemv-rows golden vectors: a 6-row matrix for every k = 0..67 and a few long k, gathered through
/// row lists that are empty, single, repeated, reversed, unordered and 13 long; values uniform in [-1, 1), spread over
/// 2^-20..2^20, or built to cancel. Expected: the fp64 value (products of floats are exact in fp64) with its
/// sum|w||x|, and the fixed-order fp32 reference (sequential, unfused) from a plain loop written here. A
/// committed CRC-32 of both pins the table and the scalar order. Every variant must land within Budget.
/// </summary>
public static class F32GemvRowsGolden
{
    /// <summary>CRC-32 over every listed row of every case: fp64 expected bits then fp32 reference bits, little-endian.</summary>
    public const uint ExpectedCrc = 0xCF88E661;

    public const int MatrixRows = 6;
    public const int MaxTailK = 67;
    public static readonly int[] LongKs = [100, 128, 255, 256, 1000, 4099];
    public static readonly int[][] RowLists = [[], [0], [5], [2, 0, 2], [5, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5, 1, 3],
        [4, 0, 5, 2, 2, 1, 3, 5, 0, 4, 1, 3, 2]]; // the last: 13 = 8 + 4 + 1, each row block of the SIMD tile

    public enum Pattern { Unit, WideRange, Cancelling }

    public sealed record Case(string Name, int K, float[] W, float[] X, int[] Rows, double[] Exact, double[] SumAbs, float[] Reference);

    private static readonly Lazy<IReadOnlyList<Case>> LazyCases = new(Build);
    public static IReadOnlyList<Case> Cases => LazyCases.Value;

    /// <summary>u = 2^-24 for fp32, 2^-53 for fp64 (round to nearest).</summary>
    public const double U32 = 1.0 / (1 << 24), U64 = 1.0 / (1L << 53);

    /// <summary>Higham's gamma_n(u) = n*u / (1 - n*u).</summary>
    public static double Gamma(int n, double u) => n * u / (1 - n * u);

    /// <summary>The named budget: any fp32 summation order (tree depth <= k, fused or not) of a length-k dot
    /// product is within gamma_k(2^-24) * sum|w||x| of the exact value; 2*gamma_k(2^-53) more covers the fp64
    /// reference's own rounding and that of sumAbs.</summary>
    public static double Budget(int k, double sumAbs) => (Gamma(k, U32) + 2 * Gamma(k, U64)) * sumAbs;

    private static IReadOnlyList<Case> Build()
    {
        var cases = new List<Case>();
        for (int k = 0; k <= MaxTailK; k++)
            for (int l = 0; l < RowLists.Length; l++)
                cases.Add(Make((Pattern)((k + l) % 3), k, RowLists[l]));
        foreach (int k in LongKs)
            for (var p = Pattern.Unit; p <= Pattern.Cancelling; p++)
                cases.Add(Make(p, k, RowLists[^1]));
        return cases;
    }

    public static Case Make(Pattern p, int k, int[] rows)
    {
        var rng = new GoldenRng(((ulong)p << 40) ^ (ulong)k ^ ((ulong)rows.Length << 20) ^ 0xF32_2026UL);
        var x = new float[k];
        var w = new float[MatrixRows * k];
        for (int j = 0; j < k; j++)
            x[j] = p switch
            {
                Pattern.WideRange => rng.Unit() * MathF.ScaleB(1f, rng.Int(-20, 20)),
                Pattern.Cancelling => j % 2 == 0 ? rng.Unit() : -x[j - 1], // pairs (t, -t)
                _ => rng.Unit(),
            };
        for (int i = 0; i < MatrixRows; i++)
            for (int j = 0; j < k; j++)
                w[i * k + j] = p switch
                {
                    Pattern.WideRange => rng.Unit() * MathF.ScaleB(1f, rng.Int(-20, 20)),
                    Pattern.Cancelling => j % 2 == 0 ? rng.Unit() : w[i * k + j - 1], // w*x pairs cancel exactly
                    _ => rng.Unit(),
                };
        var exact = new double[rows.Length];
        var sumAbs = new double[rows.Length];
        var reference = new float[rows.Length];
        for (int r = 0; r < rows.Length; r++)
        {
            double e = 0, a = 0;
            float s = 0;
            for (int j = 0; j < k; j++)
            {
                double prod = (double)w[rows[r] * k + j] * x[j];
                e += prod;
                a += Math.Abs(prod);
                float pf = w[rows[r] * k + j] * x[j];
                s += pf;
            }
            (exact[r], sumAbs[r], reference[r]) = (e, a, s);
        }
        return new($"{p} k={k} rows=[{string.Join(",", rows)}]", k, w, x, rows, exact, sumAbs, reference);
    }

    public static uint ComputeCrc()
    {
        var crc = new Crc32();
        Span<byte> b = stackalloc byte[12];
        foreach (var c in Cases)
            for (int r = 0; r < c.Rows.Length; r++)
            {
                BinaryPrimitives.WriteDoubleLittleEndian(b, c.Exact[r]);
                BinaryPrimitives.WriteSingleLittleEndian(b[8..], c.Reference[r]);
                crc.Append(b);
            }
        return crc.GetCurrentHashAsUInt32();
    }

    /// <summary>Null when the table matches its committed CRC, else why not.</summary>
    public static string? VerifyPin()
    {
        uint crc = ComputeCrc();
        return crc == ExpectedCrc ? null : $"golden table drifted: CRC-32 0x{crc:X8}, committed 0x{ExpectedCrc:X8}";
    }

    /// <summary>Runs every case through fn on exactly sized arrays; null when every output is within Budget
    /// (and, for the scalar reference, bit-identical to the pinned fixed-order value), else the first miss.</summary>
    public static string? Check(F32GemvRowsFn fn, bool bitExactToScalar)
    {
        foreach (var c in Cases)
        {
            var y = new float[c.Rows.Length];
            Array.Fill(y, float.NaN);
            fn(c.W, c.X, c.Rows, y, c.K);
            for (int r = 0; r < y.Length; r++)
            {
                double err = Math.Abs(y[r] - c.Exact[r]), budget = Budget(c.K, c.SumAbs[r]);
                if (!(err <= budget))
                    return $"{c.Name}: y[{r}] = {y[r]:R}, exact {c.Exact[r]:R}, error {err:G3} > budget {budget:G3}";
                if (bitExactToScalar && BitConverter.SingleToInt32Bits(y[r]) != BitConverter.SingleToInt32Bits(c.Reference[r]))
                    return $"{c.Name}: y[{r}] = {y[r]:R}, fixed-order reference {c.Reference[r]:R}";
            }
        }
        return null;
    }

    /// <summary>Runs every case through fn and through gemm (the f32-gemm variant of the same Isa, over the
    /// whole matrix with x as its one input vector); null when y[r] has the same bits as gemm's output for row
    /// rows[r] in every case, else the first difference. This is how `ema selftest` checks the order contract
    /// on CPUs the unit tests never run on (the arm64 harness).</summary>
    public static string? CheckAgainstGemm(F32GemvRowsFn fn, F32GemmFn gemm, string gemmName)
    {
        foreach (var c in Cases)
        {
            var y = new float[c.Rows.Length];
            var g = new float[MatrixRows];
            Array.Fill(y, float.NaN);
            Array.Fill(g, float.NaN);
            fn(c.W, c.X, c.Rows, y, c.K);
            gemm(c.W, c.X, g, MatrixRows, c.K, 1);
            for (int r = 0; r < y.Length; r++)
                if (BitConverter.SingleToInt32Bits(y[r]) != BitConverter.SingleToInt32Bits(g[c.Rows[r]]))
                    return $"{c.Name}: y[{r}] = {y[r]:R}, {gemmName} gives {g[c.Rows[r]]:R} for row {c.Rows[r]}";
        }
        return null;
    }
}
