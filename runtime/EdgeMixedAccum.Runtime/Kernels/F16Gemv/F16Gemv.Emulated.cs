// f16acc GEMV, exact C# emulation (x64, and ARM64 cores without FEAT_FP16: Cortex-A72/A57).
//
// Order (defined in F16Gemv.cs, identical to runtime/native/f16acc.c): 8 fp16 lanes from +0;
// acc_(j mod 8) = fma16(w[j], x[j], acc_(j mod 8)) for j = 0..k-1 (one rounding per step); then
// y = ((a0+a1)+(a2+a3)) + ((a4+a5)+(a6+a7)), each add rounded to fp16. absDot: same lanes and tree in fp32.
//
// fma16 here: the fp16 values are carried as doubles; a*b is exact in double (11-bit significands, exponents
// >= -48); s = c + a*b is a double sum that may be inexact (the exact value can span more than 53 bits),
// so TwoSum gives the error lo, and when lo != 0 s is turned into the round-to-odd value of the exact sum
// before the single RNE to fp16 (Boldo-Melquiond: odd at 53 bits then RNE at 11 bits == one RNE; the RNE is
// Round16, one double addition of a binade-chosen constant, checked against .NET's (Half) in tests). For fp16
// inputs that fix-up never changes the result in practice (see the tests), but it makes the correctness
// argument local instead of depending on fp16's exponent range.
using System.Runtime.CompilerServices;

namespace EdgeMixedAccum.Runtime.Kernels;

public static class F16GemvEmulated
{
    public static void Gemv(ReadOnlySpan<Half> w, ReadOnlySpan<Half> x, Span<Half> y, Span<float> absDot, int rows, int k)
    {
        F16Gemv.CheckArgs(w, x, y, absDot, rows, k);
        bool wantAbs = !absDot.IsEmpty;
        for (int i = 0; i < rows; i++)
        {
            ReadOnlySpan<Half> wr = w.Slice(i * k, k);
            y[i] = Row(wr, x[..k]);
            if (wantAbs)
                absDot[i] = AbsRow(wr, x[..k]);
        }
    }

    /// <summary>One row in the documented order.</summary>
    public static Half Row(ReadOnlySpan<Half> w, ReadOnlySpan<Half> x)
    {
        int k = w.Length;
        x = x[..k];
        double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
        int j = 0;
        for (; j <= k - 8; j += 8)
        {
            a0 = Fma16(D(w[j]), D(x[j]), a0);
            a1 = Fma16(D(w[j + 1]), D(x[j + 1]), a1);
            a2 = Fma16(D(w[j + 2]), D(x[j + 2]), a2);
            a3 = Fma16(D(w[j + 3]), D(x[j + 3]), a3);
            a4 = Fma16(D(w[j + 4]), D(x[j + 4]), a4);
            a5 = Fma16(D(w[j + 5]), D(x[j + 5]), a5);
            a6 = Fma16(D(w[j + 6]), D(x[j + 6]), a6);
            a7 = Fma16(D(w[j + 7]), D(x[j + 7]), a7);
        }
        int r = k - j; // 0..7 tail elements go to lanes 0..r-1
        if (r > 0) a0 = Fma16(D(w[j]), D(x[j]), a0);
        if (r > 1) a1 = Fma16(D(w[j + 1]), D(x[j + 1]), a1);
        if (r > 2) a2 = Fma16(D(w[j + 2]), D(x[j + 2]), a2);
        if (r > 3) a3 = Fma16(D(w[j + 3]), D(x[j + 3]), a3);
        if (r > 4) a4 = Fma16(D(w[j + 4]), D(x[j + 4]), a4);
        if (r > 5) a5 = Fma16(D(w[j + 5]), D(x[j + 5]), a5);
        if (r > 6) a6 = Fma16(D(w[j + 6]), D(x[j + 6]), a6);

        double s = Add16(Add16(Add16(a0, a1), Add16(a2, a3)), Add16(Add16(a4, a5), Add16(a6, a7)));
        return double.IsNaN(s) ? BitConverter.UInt16BitsToHalf(F16Gemv.DefaultNaNBits) : (Half)s;
    }

    /// <summary>sum |w||x| in fp32, same lanes and tree.</summary>
    public static float AbsRow(ReadOnlySpan<Half> w, ReadOnlySpan<Half> x)
    {
        int k = w.Length;
        x = x[..k];
        Span<float> a = stackalloc float[8];
        a.Clear();
        for (int j = 0; j < k; j++)
            a[j & 7] += (float)Math.Abs(D(w[j]) * D(x[j]));   // |w x| exact in double and in fp32
        float s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
        // x64 makes the negative default NaN (0xFFC00000) for inf * 0; ARM the positive one: use ARM's.
        return float.IsNaN(s) ? BitConverter.UInt32BitsToSingle(F16Gemv.DefaultNaNBits32) : s;
    }

    /// <summary>RNE_fp16(a*b + c) with one rounding; a, b, c are fp16 values carried as doubles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Fma16(double a, double b, double c)
    {
        double p = a * b;          // exact (or +-inf/NaN from inf/NaN inputs)
        double s = c + p;
        double bb = s - c;
        double lo = (c - (s - bb)) + (p - bb);   // TwoSum: c + p == s + lo when s is finite
        if (lo != 0 && double.IsFinite(s))
        {
            long sb = BitConverter.DoubleToInt64Bits(s);
            if ((sb & 1) == 0)     // round to odd: step one double ulp towards the exact sum
                s = BitConverter.Int64BitsToDouble(sb + ((sb ^ BitConverter.DoubleToInt64Bits(lo)) < 0 ? -1 : 1));
        }
        return Round16(s);
    }

    /// <summary>RNE_fp16(a + b) for fp16 values carried as doubles (the double sum is exact: spans &lt;= 40 bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Add16(double a, double b) => Round16(a + b);

    /// <summary>RNE of s to fp16, returned as a double: (double)(Half)s without the software conversion.
    /// s + 1.5*2^(e+42) lies in the binade whose double ulp is the fp16 quantum 2^(e-10) of s (e = exponent
    /// of s, at least -14 for subnormals), so that one double addition is the fp16 rounding, ties to even;
    /// subtracting the constant back is exact. Zero results keep the sign of s; |r| &gt; 65504 is inf.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Round16(double s)
    {
        long bits = BitConverter.DoubleToInt64Bits(s);
        int e = (int)((bits >> 52) & 0x7FF) - 1023;
        if (e > 15)
            return e == 1024 ? s : Math.CopySign(double.PositiveInfinity, s);   // inf/NaN stay; |s| >= 2^16 overflows
        if (e < -14) e = -14;
        double c = BitConverter.Int64BitsToDouble((long)(e + 42 + 1023) << 52) * 1.5;
        double r = Math.CopySign((s + c) - c, s);
        return Math.Abs(r) > 65504.0 ? Math.CopySign(double.PositiveInfinity, s) : r;
    }

    private static readonly double Two1008 = BitConverter.Int64BitsToDouble((long)(1008 + 1023) << 52);

    /// <summary>(double)h by bit moves: the 15 magnitude bits placed at the top of a double's exponent and
    /// fraction fields and scaled by 2^1008 give the value exactly (fp16 subnormals pass through double
    /// subnormals, exactly); the all-ones exponent (inf/NaN) is mapped separately.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double D(Half h)
    {
        uint b = BitConverter.HalfToUInt16Bits(h);
        long sign = (long)(b & 0x8000) << 48;
        if ((b & 0x7C00) == 0x7C00)
            return (double)h;
        double mag = BitConverter.Int64BitsToDouble((long)(b & 0x7FFF) << 42) * Two1008;
        return BitConverter.Int64BitsToDouble(BitConverter.DoubleToInt64Bits(mag) | sign);
    }
}
