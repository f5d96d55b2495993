using System.Buffers.Binary;
using System.IO.Hashing;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The i8-gemm golden vectors: deterministic inputs (rows 0..9 x n 0..9 and 17 x k from 0 through every tail of
/// the 16-, 32- and 64-column steps up to 129, plus 300 and 784: every row-block and vector-block remainder of
/// every tile; the extreme patterns at +-127 that put VPMADDWD/SMLAL-type pair sums at +-2*127*127 and the
/// AVX-VNNI kernels' biased x + 128 at 255 and 1), expected outputs from a plain long-accumulator loop written here
/// independently of the scalar kernel, and a committed CRC-32 of all expected outputs so the table itself
/// (generator and reference loop) cannot drift. Read by the xunit tests and `ema selftest`.
/// </summary>
public static class I8GemmGolden
{
    /// <summary>CRC-32 of every case's dot, int32 little-endian, in case order.</summary>
    public const uint ExpectedCrc = 0x26C0CF1E;

    public sealed record Case(string Name, int Rows, int K, int N, sbyte[] W, sbyte[] X, int[] Dot);

    public enum Pattern { Random, AllPlus, PlusMinus, AllMinus, Alternating, RandomExtreme }

    public static readonly int[] RowCounts = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    public static readonly int[] VectorCounts = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 17];
    public static readonly int[] Ks = [0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 127, 128, 129, 300, 784];
    public static readonly int[] ExtremeKs = [1, 16, 31, 32, 64, 65, 128, 129, 784];

    private static readonly Lazy<IReadOnlyList<Case>> LazyCases = new(Build);
    public static IReadOnlyList<Case> Cases => LazyCases.Value;

    private static IReadOnlyList<Case> Build()
    {
        var cases = new List<Case>();
        foreach (int k in Ks)
            foreach (int rows in RowCounts)
                foreach (int n in VectorCounts)
                    cases.Add(Make(Pattern.Random, rows, k, n));
        foreach (int k in ExtremeKs)
            for (var p = Pattern.AllPlus; p <= Pattern.RandomExtreme; p++)
                foreach (var (rows, n) in new[] { (4, 4), (5, 3), (9, 17) })
                    cases.Add(Make(p, rows, k, n));
        return cases;
    }

    public static Case Make(Pattern p, int rows, int k, int n)
    {
        var rng = new GoldenRng(((ulong)p << 56) ^ ((ulong)n << 48) ^ ((ulong)rows << 32) ^ (ulong)k ^ 0x6E3A_2026UL);
        var x = new sbyte[n * k];
        var w = new sbyte[rows * k];
        for (int s = 0; s < n; s++)
        {
            // Odd vectors of the constant patterns flip sign, so a kernel that mixes up vectors cannot pass.
            int flip = s % 2 == 0 ? 1 : -1;
            for (int j = 0; j < k; j++)
                x[s * k + j] = p switch
                {
                    Pattern.Random => (sbyte)rng.Int(-127, 127),
                    Pattern.AllPlus or Pattern.PlusMinus => (sbyte)(127 * flip),
                    Pattern.AllMinus => (sbyte)(-127 * flip),
                    Pattern.Alternating => (sbyte)((j % 2 == 0 ? 127 : -127) * flip),
                    _ => (sbyte)(127 * rng.Int(-1, 1)),
                };
        }
        for (int i = 0; i < rows; i++)
        {
            // Rows flip on a period of 3, so row and vector mix-ups give different sums.
            int flip = i % 3 == 1 ? -1 : 1;
            for (int j = 0; j < k; j++)
                w[i * k + j] = p switch
                {
                    Pattern.Random => (sbyte)rng.Int(-127, 127),
                    Pattern.AllPlus or Pattern.Alternating => (sbyte)(127 * flip),
                    Pattern.PlusMinus or Pattern.AllMinus => (sbyte)(-127 * flip),
                    _ => (sbyte)(127 * rng.Int(-1, 1)),
                };
        }
        return new($"{p} rows={rows} k={k} n={n}", rows, k, n, w, x, Reference(w, x, rows, k, n));
    }

    /// <summary>The expected outputs, independent of every kernel: long accumulators, checked narrowing. Also
    /// the int64 reference of the random-shape tests.</summary>
    public static int[] Reference(sbyte[] w, sbyte[] x, int rows, int k, int n)
    {
        var dot = new int[n * rows];
        for (int s = 0; s < n; s++)
            for (int i = 0; i < rows; i++)
            {
                long d = 0;
                for (int j = 0; j < k; j++) d += (long)w[i * k + j] * x[s * k + j];
                dot[s * rows + i] = checked((int)d);
            }
        return dot;
    }

    public static uint ComputeCrc()
    {
        var crc = new Crc32();
        Span<byte> b = stackalloc byte[4];
        foreach (var c in Cases)
            foreach (int v in c.Dot) { BinaryPrimitives.WriteInt32LittleEndian(b, v); crc.Append(b); }
        return crc.GetCurrentHashAsUInt32();
    }

    /// <summary>Null when the table matches its committed CRC, else why not.</summary>
    public static string? VerifyPin()
    {
        uint crc = ComputeCrc();
        return crc == ExpectedCrc ? null : $"golden table drifted: CRC-32 0x{crc:X8}, committed 0x{ExpectedCrc:X8}";
    }

    private const int Sentinel = 0x5A5A5A5A;

    /// <summary>Runs every case through fn on exactly sized arrays (and once more on a dot one element longer,
    /// whose extra element must stay untouched); null when all outputs are bit-exact, else the first mismatch.</summary>
    public static string? Check(I8GemmFn fn)
    {
        foreach (var c in Cases)
        {
            var dot = new int[c.Dot.Length + 1];
            Array.Fill(dot, Sentinel);
            fn(c.W, c.X, dot.AsSpan(0, c.Dot.Length), c.Rows, c.K, c.N);
            for (int i = 0; i < c.Dot.Length; i++)
                if (dot[i] != c.Dot[i]) return $"{c.Name}: dot[{i}] (vector {i / c.Rows}, row {i % c.Rows}) = {dot[i]}, expected {c.Dot[i]}";
            if (dot[^1] != Sentinel) return $"{c.Name}: wrote past dot[{c.Dot.Length - 1}]";
        }
        return null;
    }
}
