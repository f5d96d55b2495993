using System.Numerics;
using EdgeMixedAccum.Numerics;

namespace EdgeMixedAccum.Tests.Numerics;

/// <summary>
/// Test-only references that share no code with <see cref="FloatFormat"/>: exact values are BigIntegers in
/// units of 2^-1074 (every double is an integer multiple of that), so sums and products of a few doubles are
/// exact and rounding decisions are made by integer comparison.
/// </summary>
internal static class Exact
{
    public const int Scale = 1074;

    /// <summary>d * 2^1074 exactly (d finite).</summary>
    public static BigInteger Of(double d)
    {
        var (m, e) = Split(d);
        return m << (e + Scale);
    }

    /// <summary>Exact product of two doubles, scaled by 2^1074 (asserts it is a multiple of 2^-1074).</summary>
    public static BigInteger Product(double a, double b)
    {
        var (ma, ea) = Split(a);
        var (mb, eb) = Split(b);
        BigInteger p = ma * mb;
        int shift = ea + eb + Scale;
        if (shift >= 0)
            return p << shift;
        Assert.True((p & ((BigInteger.One << -shift) - 1)).IsZero, "product not representable at 2^-1074");
        return p >> -shift;
    }

    /// <summary>d = m * 2^e with m a signed integer of at most 53 bits.</summary>
    private static (BigInteger m, int e) Split(double d)
    {
        Assert.True(double.IsFinite(d));
        long bits = BitConverter.DoubleToInt64Bits(d);
        int expField = (int)((bits >> 52) & 0x7FF);
        long frac = bits & 0xF_FFFF_FFFF_FFFFL;
        long m = expField == 0 ? frac : frac | (1L << 52);
        int e = (expField == 0 ? 1 : expField) - 1075;
        return (bits < 0 ? -m : m, e);
    }

    /// <summary>
    /// Round-to-nearest-even of the exact value n * 2^-1074 into a format given only by its parameters
    /// (precision p, minimum exponent, max finite, overflow rule). zeroNegative picks the sign of an exact zero.
    /// </summary>
    public static double RoundRne(BigInteger n, int mantissaBits, int minExponent, double maxFinite, bool saturate,
        bool zeroNegative = false)
    {
        if (n.IsZero)
            return zeroNegative ? -0.0 : 0.0;
        bool neg = n.Sign < 0;
        BigInteger a = BigInteger.Abs(n);
        int e = (int)a.GetBitLength() - 1 - Scale;        // floor(log2 |value|)
        int quantumExp = Math.Max(e, minExponent) - mantissaBits;
        int shift = quantumExp + Scale;
        Assert.True(shift > 0);
        BigInteger q = a >> shift;
        BigInteger rem = a - (q << shift);
        BigInteger half = BigInteger.One << (shift - 1);
        int c = rem.CompareTo(half);
        if (c > 0 || (c == 0 && !q.IsEven))
            q += 1;
        double r = Math.ScaleB((double)q, quantumExp);
        if (r > maxFinite)
            r = saturate ? maxFinite : double.PositiveInfinity;
        return neg ? -r : r;
    }

    public static double RoundRne(BigInteger n, FloatFormat f, bool zeroNegative = false)
        => RoundRne(n, f.MantissaBits, 1 - f.Bias, f.MaxFinite, f.Overflow == OverflowMode.Saturate, zeroNegative);
}

/// <summary>
/// Brute-force FP8 reference: all values come from a naive decoder written from the format definitions, and a
/// rounding picks the nearest of them by exact comparison, ties to the even pattern.
/// </summary>
internal sealed class Fp8BruteForce
{
    private readonly BigInteger[] _values;  // ascending non-negative finite values, plus one virtual value
    private readonly double[] _doubles;
    private readonly bool[] _even;
    private readonly bool _saturate;
    private readonly bool _fn;

    public string Name { get; }
    public double MaxFinite { get; }

    public Fp8BruteForce(string name, int expBits, int manBits, int bias, bool fn, bool saturate)
    {
        Name = name;
        _saturate = saturate;
        _fn = fn;
        var vals = new List<(double v, bool even)>();
        // Patterns 0x00..0x7F are the non-negative ones; they increase with the pattern. The first non-finite
        // pattern is decoded ignoring its special meaning: it is the value just above MaxFinite that
        // unbounded-exponent rounding could reach (2^(emax+1) for IEEE, 480 for E4M3FN).
        for (int b = 0; b < 128; b++)
        {
            int ef = b >> manBits, mf = b & ((1 << manBits) - 1);
            bool special = fn ? b == 127 : ef == (1 << expBits) - 1;
            double v = ef == 0
                ? mf * Math.Pow(2, 1 - bias - manBits)
                : (1 + mf / Math.Pow(2, manBits)) * Math.Pow(2, ef - bias);
            vals.Add((v, (b & 1) == 0));
            if (special)
                break;
        }
        _doubles = vals.Select(t => t.v).ToArray();
        _values = _doubles.Select(Exact.Of).ToArray();
        _even = vals.Select(t => t.even).ToArray();
        MaxFinite = _doubles[^2];
    }

    /// <summary>Naive decode of a pattern (NaN for NaN patterns, inf for IEEE inf).</summary>
    public static double NaiveDecode(int b, int expBits, int manBits, int bias, bool fn)
    {
        double sign = (b & 0x80) != 0 ? -1 : 1;
        int ef = (b >> manBits) & ((1 << expBits) - 1), mf = b & ((1 << manBits) - 1);
        if (fn && (b & 0x7F) == 0x7F)
            return double.NaN;
        if (!fn && ef == (1 << expBits) - 1)
            return mf == 0 ? sign * double.PositiveInfinity : double.NaN;
        return ef == 0
            ? sign * mf * Math.Pow(2, 1 - bias - manBits)
            : sign * (1 + mf / Math.Pow(2, manBits)) * Math.Pow(2, ef - bias);
    }

    /// <summary>Nearest value to n * 2^-1074 with ties to even, overflow per the format.</summary>
    public double Round(BigInteger n, bool zeroNegative = false)
    {
        if (n.IsZero)
            return zeroNegative ? -0.0 : 0.0;
        bool neg = n.Sign < 0;
        BigInteger a = BigInteger.Abs(n);
        // Bracket a between two enumerated neighbours (binary search), then take the nearer, ties to even.
        int lo = 0, hi = _values.Length - 1;
        if (a >= _values[hi])
            lo = hi;
        else
        {
            while (hi - lo > 1)
            {
                int mid = (lo + hi) / 2;
                if (_values[mid] <= a) lo = mid; else hi = mid;
            }
        }
        int best = lo;
        if (lo < _values.Length - 1)
        {
            int c = (a - _values[lo]).CompareTo(_values[lo + 1] - a);
            if (c > 0 || (c == 0 && _even[lo + 1]))
                best = lo + 1;
        }
        double r = _doubles[best];
        if (best == _values.Length - 1)   // the virtual value: overflow
            r = _saturate ? MaxFinite : double.PositiveInfinity;
        return neg ? -r : r;
    }

    public double Round(double x) => double.IsNaN(x) ? double.NaN
        : double.IsInfinity(x) ? (_fn ? Math.CopySign(MaxFinite, x) : x)
        : Round(Exact.Of(x), double.IsNegative(x));

    public static readonly Fp8BruteForce E4M3 = new("fp8-e4m3", 4, 3, 7, fn: true, saturate: true);
    public static readonly Fp8BruteForce E4M3Ieee = new("fp8-e4m3-ieee", 4, 3, 7, fn: false, saturate: true);
    public static readonly Fp8BruteForce E5M2 = new("fp8-e5m2", 5, 2, 15, fn: false, saturate: false);
}
