using System.Numerics;

namespace EdgeMixedAccum.Runtime.Tests.Kernels;

/// <summary>
/// Independent exact reference for the f16acc order: fp16 values as integers times 2^-48 (BigInteger),
/// every fma/add computed exactly and rounded once to fp16 (RNE, subnormals, overflow to inf) by integer
/// arithmetic. Shares no code with the kernels (no doubles, no Half conversions, no FloatFormat).
/// Order: 8 lanes from +0; lane j%8 = fma(w[j], x[j], lane); ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)).
/// </summary>
internal static class F16GemvReference
{
    public const ushort NaN = 0x7E00;
    private const ushort PosInf = 0x7C00;

    /// <summary>Exact fma steps that landed exactly halfway between two fp16 values.</summary>
    public static long Ties;

    private static bool IsNaN(ushort b) => (b & 0x7C00) == 0x7C00 && (b & 0x3FF) != 0;
    private static bool IsInf(ushort b) => (b & 0x7FFF) == PosInf;
    private static bool Neg(ushort b) => (b & 0x8000) != 0;
    private static bool IsZero(ushort b) => (b & 0x7FFF) == 0;

    /// <summary>Signed value in units of 2^-24 (finite only).</summary>
    private static BigInteger Units24(ushort b)
    {
        int e = (b >> 10) & 0x1F, f = b & 0x3FF;
        BigInteger m = e == 0 ? f : new BigInteger(1024 + f) << (e - 1);
        return Neg(b) ? -m : m;
    }

    /// <summary>RNE of s * 2^-48 to fp16 bits; s != 0.</summary>
    private static ushort Round48(BigInteger s)
    {
        ushort sign = (ushort)(s.Sign < 0 ? 0x8000 : 0);
        BigInteger m = BigInteger.Abs(s);
        int e = (int)m.GetBitLength() - 1 - 48;      // exponent of the value
        int qe = Math.Max(e, -14) - 10;               // exponent of the fp16 quantum
        int shift = qe + 48;                          // >= 14
        BigInteger q = m >> shift;
        BigInteger rem = m - (q << shift);
        BigInteger half = BigInteger.One << (shift - 1);
        if (rem == half) Ties++;
        if (rem > half || (rem == half && !q.IsEven)) q++;
        if (q == 2048) { q = 1024; qe++; }
        if (q < 1024) return (ushort)(sign | (int)q);  // subnormal (qe == -24) or zero
        int field = qe + 25;
        if (field >= 31) return (ushort)(sign | PosInf);
        return (ushort)(sign | field << 10 | ((int)q - 1024));
    }

    public static ushort Fma(ushort a, ushort b, ushort c)
    {
        if (IsNaN(a) || IsNaN(b) || IsNaN(c)) return NaN;
        bool pNeg = Neg(a) ^ Neg(b);
        if (IsInf(a) || IsInf(b))
        {
            if (IsZero(a) || IsZero(b)) return NaN;
            if (IsInf(c) && Neg(c) != pNeg) return NaN;
            return (ushort)(PosInf | (pNeg ? 0x8000 : 0));
        }
        if (IsInf(c)) return c;
        BigInteger p = Units24(a) * Units24(b);        // units of 2^-48, exact
        BigInteger s = p + (Units24(c) << 24);
        if (s.IsZero)
            return (ushort)(p.IsZero && IsZero(c) && pNeg && Neg(c) ? 0x8000 : 0);
        return Round48(s);
    }

    public static ushort Add(ushort a, ushort b)
    {
        if (IsNaN(a) || IsNaN(b)) return NaN;
        if (IsInf(a) && IsInf(b)) return Neg(a) == Neg(b) ? a : NaN;
        if (IsInf(a)) return a;
        if (IsInf(b)) return b;
        BigInteger s = (Units24(a) + Units24(b)) << 24;
        if (s.IsZero)
            return (ushort)(IsZero(a) && IsZero(b) && Neg(a) && Neg(b) ? 0x8000 : 0);
        return Round48(s);
    }

    public static ushort Row(ReadOnlySpan<Half> w, ReadOnlySpan<Half> x)
    {
        var lane = new ushort[8];
        for (int j = 0; j < w.Length; j++)
            lane[j % 8] = Fma(BitConverter.HalfToUInt16Bits(w[j]), BitConverter.HalfToUInt16Bits(x[j]), lane[j % 8]);
        return Add(Add(Add(lane[0], lane[1]), Add(lane[2], lane[3])), Add(Add(lane[4], lane[5]), Add(lane[6], lane[7])));
    }

    /// <summary>sum |w||x| in fp32, lanes j%8 and the same tree (fp16*fp16 is exact in fp32).</summary>
    public static float AbsRow(ReadOnlySpan<Half> w, ReadOnlySpan<Half> x)
    {
        var lane = new float[8];
        for (int j = 0; j < w.Length; j++)
            lane[j % 8] = lane[j % 8] + Math.Abs((float)w[j]) * Math.Abs((float)x[j]);
        float s = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
        return float.IsNaN(s) ? BitConverter.UInt32BitsToSingle(0x7FC0_0000) : s;   // the ARM default NaN
    }

    public static void Gemv(ReadOnlySpan<Half> w, ReadOnlySpan<Half> x, Span<Half> y, Span<float> absDot, int rows, int k)
    {
        for (int i = 0; i < rows; i++)
        {
            y[i] = BitConverter.UInt16BitsToHalf(Row(w.Slice(i * k, k), x[..k]));
            if (!absDot.IsEmpty) absDot[i] = AbsRow(w.Slice(i * k, k), x[..k]);
        }
    }

    /// <summary>The exact dot product as a double-free rational: numerator in units of 2^-48.</summary>
    public static BigInteger ExactDot48(ReadOnlySpan<Half> w, ReadOnlySpan<Half> x)
    {
        BigInteger s = 0;
        for (int j = 0; j < w.Length; j++)
            s += Units24(BitConverter.HalfToUInt16Bits(w[j])) * Units24(BitConverter.HalfToUInt16Bits(x[j]));
        return s;
    }
}
