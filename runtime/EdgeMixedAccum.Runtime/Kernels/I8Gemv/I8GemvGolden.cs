using System.Buffers.Binary;
using System.IO.Hashing;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The i8-gemv golden vectors: deterministic inputs (k = 0..67 against rows 0, 1, 3, 4, 5, 13, 17: every tail of
/// every vector width and every row-block remainder, 13 = 8 + 4 + 1 taking each row block of the ARM64 tile; the
/// extreme patterns at +-127 that put PMADDUBSW-type pair sums at +-2*127*127 = +-32258; a few long rows),
/// expected outputs from a plain long-accumulator loop written here independently of the scalar kernel, and a
/// committed CRC-32 of all expected outputs so the table itself (generator and reference loop) cannot drift. Read by the xunit tests and `ema selftest`.
/// </summary>
public static class I8GemvGolden
{
    /// <summary>CRC-32 of every case's dot then absDot, int32 little-endian, in case order.</summary>
    public const uint ExpectedCrc = 0xDA2ED342;

    public sealed record Case(string Name, int Rows, int K, sbyte[] W, sbyte[] X, int[] Dot, int[] AbsDot);

    public enum Pattern { Random, AllPlus, PlusMinus, AllMinus, Alternating, AlternatingOpposite, RandomExtreme }

    public static readonly int[] RowCounts = [0, 1, 3, 4, 5, 13, 17];
    public const int MaxTailK = 67;
    public static readonly int[] LongKs = [128, 129, 255, 256, 1000, 4099];

    private static readonly Lazy<IReadOnlyList<Case>> LazyCases = new(Build);
    public static IReadOnlyList<Case> Cases => LazyCases.Value;

    private static IReadOnlyList<Case> Build()
    {
        var cases = new List<Case>();
        for (int k = 0; k <= MaxTailK; k++)
            foreach (int rows in RowCounts)
                cases.Add(Make(Pattern.Random, rows, k));
        for (int k = 0; k <= MaxTailK; k++)
            for (var p = Pattern.AllPlus; p <= Pattern.RandomExtreme; p++)
                cases.Add(Make(p, 5, k));
        foreach (int k in LongKs)
            foreach (var p in new[] { Pattern.Random, Pattern.AllPlus, Pattern.PlusMinus, Pattern.Alternating, Pattern.RandomExtreme })
                cases.Add(Make(p, 5, k));
        return cases;
    }

    public static Case Make(Pattern p, int rows, int k)
    {
        var rng = new GoldenRng(((ulong)p << 48) ^ ((ulong)rows << 32) ^ (ulong)k ^ 0xE4A1_2026UL);
        var x = new sbyte[k];
        var w = new sbyte[rows * k];
        for (int j = 0; j < k; j++)
            x[j] = p switch
            {
                Pattern.Random => (sbyte)rng.Int(-127, 127),
                Pattern.AllPlus or Pattern.PlusMinus => 127,
                Pattern.AllMinus => -127,
                Pattern.Alternating => (sbyte)(j % 2 == 0 ? 127 : -127),
                Pattern.AlternatingOpposite => (sbyte)(j % 2 == 0 ? -127 : 127),
                _ => (sbyte)(127 * rng.Int(-1, 1)),
            };
        for (int i = 0; i < rows; i++)
        {
            // Odd rows of the constant patterns flip sign, so a kernel that mixes up rows cannot pass.
            int flip = i % 2 == 0 ? 1 : -1;
            for (int j = 0; j < k; j++)
                w[i * k + j] = p switch
                {
                    Pattern.Random => (sbyte)rng.Int(-127, 127),
                    Pattern.AllPlus or Pattern.Alternating or Pattern.AlternatingOpposite => (sbyte)(127 * flip),
                    Pattern.PlusMinus or Pattern.AllMinus => (sbyte)(-127 * flip),
                    _ => (sbyte)(127 * rng.Int(-1, 1)),
                };
        }
        var dot = new int[rows];
        var abs = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            long d = 0, a = 0;
            for (int j = 0; j < k; j++)
            {
                int wv = w[i * k + j], xv = x[j];
                d += wv * xv;
                a += (wv < 0 ? -wv : wv) * (xv < 0 ? -xv : xv);
            }
            dot[i] = checked((int)d);
            abs[i] = checked((int)a);
        }
        return new($"{p} rows={rows} k={k}", rows, k, w, x, dot, abs);
    }

    public static uint ComputeCrc()
    {
        var crc = new Crc32();
        Span<byte> b = stackalloc byte[4];
        foreach (var c in Cases)
        {
            foreach (int v in c.Dot) { BinaryPrimitives.WriteInt32LittleEndian(b, v); crc.Append(b); }
            foreach (int v in c.AbsDot) { BinaryPrimitives.WriteInt32LittleEndian(b, v); crc.Append(b); }
        }
        return crc.GetCurrentHashAsUInt32();
    }

    /// <summary>Null when the table matches its committed CRC, else why not.</summary>
    public static string? VerifyPin()
    {
        uint crc = ComputeCrc();
        return crc == ExpectedCrc ? null : $"golden table drifted: CRC-32 0x{crc:X8}, committed 0x{ExpectedCrc:X8}";
    }

    private const int Sentinel = 0x5A5A5A5A;

    /// <summary>Runs every case through fn on exactly sized arrays, with and without absDot; null when all
    /// outputs are bit-exact, else the first mismatch.</summary>
    public static string? Check(I8GemvFn fn)
    {
        foreach (var c in Cases)
        {
            var dot = new int[c.Rows];
            var abs = new int[c.Rows];
            Array.Fill(dot, Sentinel);
            Array.Fill(abs, Sentinel);
            fn(c.W, c.X, dot, abs, c.Rows, c.K);
            if (Mismatch(dot, c.Dot) is int i) return $"{c.Name}: dot[{i}] = {dot[i]}, expected {c.Dot[i]}";
            if (Mismatch(abs, c.AbsDot) is int a) return $"{c.Name}: absDot[{a}] = {abs[a]}, expected {c.AbsDot[a]}";
            Array.Fill(dot, Sentinel);
            fn(c.W, c.X, dot, [], c.Rows, c.K);
            if (Mismatch(dot, c.Dot) is int n) return $"{c.Name} (no absDot): dot[{n}] = {dot[n]}, expected {c.Dot[n]}";
        }
        return null;
    }

    private static int? Mismatch(int[] got, int[] want)
    {
        for (int i = 0; i < want.Length; i++)
            if (got[i] != want[i]) return i;
        return null;
    }
}
