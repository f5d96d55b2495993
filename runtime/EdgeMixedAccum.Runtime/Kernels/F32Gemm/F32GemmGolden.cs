using System.Buffers.Binary;
using System.IO.Hashing;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The f32-gemm golden vectors: every shape rows = 0..9 x k in Ks (below, through and past each vector width:
/// 16 for AVX-512, 8 for AVX2, 4 for NEON/Vector128, and the tile tails) x n in Ns (0..9 and 17); values
/// uniform in [-1, 1), spread over 2^-20..2^20, or built to cancel, the pattern cycling over the shapes. Inputs
/// come from GoldenRng. Expected: the fp64 value (products of floats are exact in fp64) with its sum|w||x|,
/// and the fixed-order fp32 reference (sequential, unfused) from a plain loop written here. A committed CRC-32
/// of both pins the table and the scalar order. Every variant must land within F32GemvRowsGolden.Budget, the
/// named budget gamma_k(2^-24) * sum|w||x| (+ the fp64 reference's own rounding).
/// </summary>
public static class F32GemmGolden
{
    /// <summary>CRC-32 over every output of every case: fp64 expected bits then fp32 reference bits, little-endian.</summary>
    public const uint ExpectedCrc = 0x4281D6E5;

    public const int MaxRows = 9;
    public static readonly int[] Ks = [0, 1, 15, 16, 17, 63, 64, 65, 300, 784];
    public static readonly int[] Ns = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 17];

    public enum Pattern { Unit, WideRange, Cancelling }

    /// <summary>One shape: y[s*Rows + i] is expected to be Exact[s*Rows + i] within Budget(K, SumAbs[..]).</summary>
    public sealed record Case(string Name, int Rows, int K, int N, float[] W, float[] X, double[] Exact, double[] SumAbs, float[] Reference);

    private static readonly Lazy<IReadOnlyList<Case>> LazyCases = new(Build);
    public static IReadOnlyList<Case> Cases => LazyCases.Value;

    /// <summary>The family's named error budget, shared with f32-gemv-rows: any fp32 summation order of a
    /// length-k dot product is within gamma_k(2^-24) * sum|w||x| of the exact value.</summary>
    public static double Budget(int k, double sumAbs) => F32GemvRowsGolden.Budget(k, sumAbs);

    private static IReadOnlyList<Case> Build()
    {
        var cases = new List<Case>();
        for (int ki = 0; ki < Ks.Length; ki++)
            for (int rows = 0; rows <= MaxRows; rows++)
                foreach (int n in Ns)
                    cases.Add(Make((Pattern)((ki + rows + n) % 3), rows, Ks[ki], n));
        return cases;
    }

    public static Case Make(Pattern p, int rows, int k, int n)
    {
        var rng = new GoldenRng(((ulong)p << 48) ^ ((ulong)n << 32) ^ ((ulong)rows << 20) ^ (ulong)k ^ 0xF32_6E33UL);
        var w = Fill(ref rng, p, rows * k, k);
        var x = Fill(ref rng, p, n * k, k, negateOddColumns: true);
        var exact = new double[n * rows];
        var sumAbs = new double[n * rows];
        var reference = new float[n * rows];
        for (int s = 0; s < n; s++)
            for (int i = 0; i < rows; i++)
            {
                double e = 0, a = 0;
                float acc = 0;
                for (int j = 0; j < k; j++)
                {
                    double prod = (double)w[i * k + j] * x[s * k + j];
                    e += prod;
                    a += Math.Abs(prod);
                    float pf = w[i * k + j] * x[s * k + j];
                    acc += pf;
                }
                (exact[s * rows + i], sumAbs[s * rows + i], reference[s * rows + i]) = (e, a, acc);
            }
        return new($"{p} rows={rows} k={k} n={n}", rows, k, n, w, x, exact, sumAbs, reference);
    }

    /// <summary>count values in rows of k. Cancelling: columns come in pairs (t, t) in w and (t, -t) in x, so
    /// every w*x pair cancels exactly and the exact value is the odd k's last term or 0.</summary>
    private static float[] Fill(ref GoldenRng rng, Pattern p, int count, int k, bool negateOddColumns = false)
    {
        var v = new float[count];
        for (int t = 0; t < count; t++)
        {
            int j = t % k;
            v[t] = p switch
            {
                Pattern.WideRange => rng.Unit() * MathF.ScaleB(1f, rng.Int(-20, 20)),
                Pattern.Cancelling => j % 2 == 0 ? rng.Unit() : negateOddColumns ? -v[t - 1] : v[t - 1],
                _ => rng.Unit(),
            };
        }
        return v;
    }

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

    /// <summary>Null when the table matches its committed CRC, else why not.</summary>
    public static string? VerifyPin()
    {
        uint crc = ComputeCrc();
        return crc == ExpectedCrc ? null : $"golden table drifted: CRC-32 0x{crc:X8}, committed 0x{ExpectedCrc:X8}";
    }

    /// <summary>Checks one output set of one case; null when every output is within Budget (and, for the
    /// scalar reference, bit-identical to the pinned fixed-order value), else the first miss.</summary>
    public static string? Compare(Case c, ReadOnlySpan<float> y, bool bitExactToScalar)
    {
        for (int o = 0; o < c.Exact.Length; o++)
        {
            double err = Math.Abs(y[o] - c.Exact[o]), budget = Budget(c.K, c.SumAbs[o]);
            if (!(err <= budget))
                return $"{c.Name}: y[{o}] (s={o / c.Rows}, i={o % c.Rows}) = {y[o]:R}, exact {c.Exact[o]:R}, error {err:G3} > budget {budget:G3}";
            if (bitExactToScalar && BitConverter.SingleToInt32Bits(y[o]) != BitConverter.SingleToInt32Bits(c.Reference[o]))
                return $"{c.Name}: y[{o}] = {y[o]:R}, fixed-order reference {c.Reference[o]:R}";
        }
        return null;
    }

    /// <summary>Runs every case through fn on exactly sized arrays (y pre-filled with NaN, so an output never
    /// written fails); null when all pass, else the first miss.</summary>
    public static string? Check(F32GemmFn fn, bool bitExactToScalar)
    {
        foreach (var c in Cases)
        {
            var y = new float[c.N * c.Rows];
            Array.Fill(y, float.NaN);
            fn(c.W, c.X, y, c.Rows, c.K, c.N);
            if (Compare(c, y, bitExactToScalar) is { } miss) return miss;
        }
        return null;
    }
}
