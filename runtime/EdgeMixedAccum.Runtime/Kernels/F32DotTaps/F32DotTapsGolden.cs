using System.Buffers.Binary;
using System.IO.Hashing;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The f32-dot-taps golden vectors: len in Lens (0, one block through past four blocks: the accumulator
/// rotation and its partial last round) x taps 1..9 with four patterns of padding taps (none, the first, the
/// last, every other), the taps' runs at scattered, overlapping offsets of one x; values uniform in [-1, 1),
/// spread over 2^-20..2^20, or cancelling in pairs. Expected: the fp64 value with its sum|w||x| (the named budget
/// gamma_k(2^-24)*sum|w||x| must hold) and the order's fp32 value from a plain loop written here (not the
/// scalar variant), which every variant must match bit for bit. A committed CRC-32 of both pins table and order.
/// </summary>
public static class F32DotTapsGolden
{
    public const uint ExpectedCrc = 0x0FBAF3B1;

    public static readonly int[] Lens = [0, 16, 32, 48, 64, 80, 112, 128, 144, 192];
    public static readonly int[] Taps = [1, 2, 3, 5, 9];

    public sealed record Case(string Name, int Len, float[] W, float[] X, int[] XOff, double Exact, double SumAbs, float Reference);

    private static readonly Lazy<IReadOnlyList<Case>> LazyCases = new(Build);
    public static IReadOnlyList<Case> Cases => LazyCases.Value;

    private static IReadOnlyList<Case> Build()
    {
        var cases = new List<Case>();
        foreach (int len in Lens)
            foreach (int taps in Taps)
                for (int skip = 0; skip < 4; skip++)
                    cases.Add(Make((len / 16 + taps + skip) % 3, len, taps, skip));
        return cases;
    }

    public static Case Make(int pattern, int len, int taps, int skip)
    {
        var rng = new GoldenRng(((ulong)pattern << 50) ^ ((ulong)skip << 40) ^ ((ulong)taps << 24) ^ (ulong)len ^ 0xD07_7A95UL);
        int xLen = len * taps + 37;
        var w = new float[taps * len];
        var x = new float[xLen];
        for (int i = 0; i < w.Length; i++) w[i] = Value(ref rng, pattern, i, i > 0 ? w[i - 1] : 0, negate: false);
        for (int i = 0; i < x.Length; i++) x[i] = Value(ref rng, pattern, i, i > 0 ? x[i - 1] : 0, negate: true);
        var off = new int[taps];
        for (int t = 0; t < taps; t++)
        {
            bool pad = skip switch { 1 => t == 0, 2 => t == taps - 1, 3 => t % 2 == 1, _ => false };
            off[t] = pad ? -1 : rng.Int(0, xLen - len);
        }
        double e = 0, a = 0;
        var acc = new float[64];
        for (int t = 0; t < taps; t++)
        {
            if (off[t] < 0) continue;
            for (int c = 0; c < len; c++)
            {
                double prod = (double)w[t * len + c] * x[off[t] + c];
                e += prod; a += Math.Abs(prod);
                int slot = c / 16 % 4 * 16 + c % 16;
                acc[slot] = MathF.FusedMultiplyAdd(w[t * len + c], x[off[t] + c], acc[slot]);
            }
        }
        var v = new float[16];
        for (int l = 0; l < 16; l++) v[l] = (acc[l] + acc[16 + l]) + (acc[32 + l] + acc[48 + l]);
        for (int l = 0; l < 8; l++) v[l] += v[l + 8];
        for (int l = 0; l < 4; l++) v[l] += v[l + 4];
        float reference = (v[0] + v[2]) + (v[1] + v[3]);
        return new($"p{pattern} len={len} taps={taps} skip={skip}", len, w, x, off, e, a, reference);
    }

    /// <summary>Pattern 2 cancels: even i random, odd i repeats the previous (w) or its negation (x).</summary>
    private static float Value(ref GoldenRng rng, int pattern, int i, float previous, bool negate) => pattern switch
    {
        1 => rng.Unit() * MathF.ScaleB(1f, rng.Int(-20, 20)),
        2 when i % 2 == 1 => negate ? -previous : previous,
        _ => rng.Unit(),
    };

    public static uint ComputeCrc()
    {
        var crc = new Crc32();
        Span<byte> b = stackalloc byte[12];
        foreach (var c in Cases)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(b, c.Exact);
            BinaryPrimitives.WriteSingleLittleEndian(b[8..], c.Reference);
            crc.Append(b);
        }
        return crc.GetCurrentHashAsUInt32();
    }

    public static string? VerifyPin()
    {
        uint crc = ComputeCrc();
        return crc == ExpectedCrc ? null : $"golden table drifted: CRC-32 0x{crc:X8}, committed 0x{ExpectedCrc:X8}";
    }

    /// <summary>Null when y is bit-identical to the order's reference and within the budget.</summary>
    public static string? Compare(Case c, float y)
    {
        int k = c.Len * c.XOff.Length;
        double err = Math.Abs(y - c.Exact), budget = F32GemvRowsGolden.Budget(k, c.SumAbs);
        if (!(err <= budget)) return $"{c.Name}: y = {y:R}, exact {c.Exact:R}, error {err:G3} > budget {budget:G3}";
        if (BitConverter.SingleToInt32Bits(y) != BitConverter.SingleToInt32Bits(c.Reference))
            return $"{c.Name}: y = {y:R}, 4x16-lane order reference {c.Reference:R}";
        return null;
    }

    /// <summary>Every case on its exactly sized arrays, alone, then among several outputs of one call (variants
    /// that take outputs in pairs): the case's position, a position whose taps are all padding (exactly +0) and one
    /// whose taps are shifted by one element (the bits of its own call alone), paired every way, named from a first
    /// position of 1 (the positions are first + at[j]).</summary>
    public static string? Check(F32DotTapsFn fn)
    {
        var y = new float[1];
        ReadOnlySpan<int> at = [0, 0, 0, 1, 1, 0, 0, 2, 2, 0, 1, 2, 2, 1];
        ReadOnlySpan<int> atLess1 = [-1, -1, -1, 0, 0, -1, -1, 1, 1, -1, 0, 1, 1, 0]; // the same positions from first = 1
        var ys = new float[at.Length];
        foreach (var c in Cases)
        {
            y[0] = float.NaN;
            fn(c.W, c.X, new TapOffsets(1, c.XOff.Length, c.Len, c.XOff), 0, [0], y);
            if (Compare(c, y[0]) is { } miss) return miss;
            int taps = c.XOff.Length, room = c.X.Length - c.Len + 1;
            var off = new int[3 * taps];
            for (int t = 0; t < taps; t++)
            {
                off[t] = c.XOff[t];
                off[taps + t] = -1;
                off[2 * taps + t] = c.XOff[t] < 0 ? -1 : (c.XOff[t] + 1) % room;
            }
            var table = new TapOffsets(3, taps, c.Len, off);
            fn(c.W, c.X, table, 1, [1], y); // position 2 as first + at[0]
            float shifted = y[0];
            Array.Fill(ys, float.NaN);
            fn(c.W, c.X, table, 1, atLess1, ys);
            for (int j = 0; j < at.Length; j++)
            {
                if (at[j] == 0 && Compare(c, ys[j]) is { } m) return $"{m} (output {j} of {at.Length})";
                float want = at[j] == 1 ? 0f : shifted;
                if (at[j] > 0 && BitConverter.SingleToInt32Bits(ys[j]) != BitConverter.SingleToInt32Bits(want))
                    return $"{c.Name}: output {j} of {at.Length} (position {at[j]}) = {ys[j]:R}, alone {want:R}";
            }
        }
        return null;
    }
}
