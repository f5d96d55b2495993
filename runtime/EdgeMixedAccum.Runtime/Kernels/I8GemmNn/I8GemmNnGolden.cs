using System.Buffers.Binary;
using System.IO.Hashing;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The i8-gemm-nn golden vectors: rows 0..9 x k in Ks (odd k leaves a half-empty last pair) x n in Ns (0
/// through past 2 vectors of 16 and the tails), panel stride ldx = n + (rows % 3); values uniform in
/// [-127, 127], or at the extremes (every product +-16129, the largest sums). Packed in pairs (I8GemmNnPack) and
/// in quads (I8GemmNn4Pack, for i8-gemm-nn4: the same sums); the expected int32 sums come from the unpacked int8
/// values in int64 here. A committed CRC-32 pins the table.
/// </summary>
public static class I8GemmNnGolden
{
    public const uint ExpectedCrc = 0x04E847A0;

    public static readonly int[] Ks = [0, 1, 2, 3, 8, 9, 17, 72, 288, 1001];
    public static readonly int[] Ns = [0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 65];

    public sealed record Case(string Name, int Rows, int K, int N, int Ldx, int[] Wp, int[] Xp, int[] Wq, int[] Xq, int[] Expected);

    private static readonly Lazy<IReadOnlyList<Case>> LazyCases = new(Build);
    public static IReadOnlyList<Case> Cases => LazyCases.Value;

    private static IReadOnlyList<Case> Build()
    {
        var cases = new List<Case>();
        for (int ki = 0; ki < Ks.Length; ki++)
            for (int rows = 0; rows <= 9; rows++)
                foreach (int n in Ns)
                    if (Ks[ki] < 1000 || (rows <= 4 && n <= 33))
                        cases.Add(Make((ki + rows + n) % 2 == 1, rows, Ks[ki], n, n + rows % 3));
        return cases;
    }

    public static Case Make(bool extremes, int rows, int k, int n, int ldx)
    {
        var rng = new GoldenRng(((extremes ? 1UL : 0) << 50) ^ ((ulong)ldx << 36) ^ ((ulong)n << 24) ^ ((ulong)rows << 16) ^ (ulong)k ^ 0x188_6E6EUL);
        sbyte V() => (sbyte)(extremes ? (rng.Next() % 2 == 0 ? 127 : -127) : rng.Int(-127, 127));
        var w = new sbyte[rows * k];
        var x = new sbyte[k * ldx];
        for (int t = 0; t < w.Length; t++) w[t] = V();
        for (int t = 0; t < x.Length; t++) x[t] = V();
        var expected = new int[rows * n];
        for (int i = 0; i < rows; i++)
            for (int q = 0; q < n; q++)
            {
                long e = 0;
                for (int j = 0; j < k; j++) e += w[i * k + j] * x[j * ldx + q];
                expected[i * n + q] = checked((int)e);
            }
        int kp = (k + 1) / 2;
        var wp = new int[rows * kp];
        var xp = new int[kp * ldx];
        I8GemmNnPack.Weights(w, rows, k, wp);
        I8GemmNnPack.Panel(x, k, ldx, xp);
        int kq = (k + 3) / 4;
        var wq = new int[rows * kq];
        var xq = new int[kq * ldx];
        I8GemmNn4Pack.Weights(w, rows, k, wq);
        I8GemmNn4Pack.Panel(x, k, ldx, xq);
        return new($"{(extremes ? "extremes" : "uniform")} rows={rows} k={k} n={n} ldx={ldx}", rows, k, n, ldx, wp, xp, wq, xq, expected);
    }

    public static uint ComputeCrc()
    {
        var crc = new Crc32();
        Span<byte> b = stackalloc byte[4];
        foreach (var c in Cases)
            foreach (int v in c.Expected)
            {
                BinaryPrimitives.WriteInt32LittleEndian(b, v);
                crc.Append(b);
            }
        return crc.GetCurrentHashAsUInt32();
    }

    public static string? VerifyPin()
    {
        uint crc = ComputeCrc();
        return crc == ExpectedCrc ? null : $"golden table drifted: CRC-32 0x{crc:X8}, committed 0x{ExpectedCrc:X8}";
    }

    public static string? Compare(Case c, ReadOnlySpan<int> dot)
    {
        for (int o = 0; o < c.Expected.Length; o++)
            if (dot[o] != c.Expected[o])
                return $"{c.Name}: dot[{o}] (i={o / c.N}, q={o % c.N}) = {dot[o]}, expected {c.Expected[o]}";
        return null;
    }

    /// <summary>Every case on exactly sized arrays, dot pre-filled with a marker (an output never written fails).</summary>
    public static string? Check(I8GemmNnFn fn)
    {
        foreach (var c in Cases)
        {
            int kp = (c.K + 1) / 2;
            var dot = new int[c.Rows * c.N];
            Array.Fill(dot, int.MinValue);
            fn(c.Wp, c.Xp.AsSpan(0, kp == 0 || c.N == 0 ? 0 : (kp - 1) * c.Ldx + c.N), dot, c.Rows, kp, c.N, c.Ldx);
            if (Compare(c, dot) is { } miss) return miss;
        }
        return null;
    }

    /// <summary>The same cases packed in quads, for i8-gemm-nn4.</summary>
    public static string? Check(I8GemmNn4Fn fn)
    {
        foreach (var c in Cases)
        {
            int kq = (c.K + 3) / 4;
            var dot = new int[c.Rows * c.N];
            Array.Fill(dot, int.MinValue);
            fn(c.Wq, c.Xq.AsSpan(0, kq == 0 || c.N == 0 ? 0 : (kq - 1) * c.Ldx + c.N), dot, c.Rows, kq, c.N, c.Ldx);
            if (Compare(c, dot) is { } miss) return miss;
        }
        return null;
    }
}
