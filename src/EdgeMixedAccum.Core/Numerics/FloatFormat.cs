namespace EdgeMixedAccum.Numerics;

/// <summary>How a format spends its all-ones exponent field.</summary>
public enum SpecialValues : byte
{
    /// <summary>IEEE 754: exponent all ones is +-inf (mantissa 0) or NaN (mantissa != 0).</summary>
    Ieee = 0,

    /// <summary>
    /// OCP FP8 "FN" (finite + NaN): no infinities; only S.11..1.11..1 is NaN, every other pattern with
    /// exponent all ones is a normal number (this is how E4M3FN reaches 448).
    /// </summary>
    Fn = 1,
}

/// <summary>What a finite result that rounds beyond the largest finite value becomes.</summary>
public enum OverflowMode : byte
{
    /// <summary>+-infinity (IEEE default). Needs <see cref="SpecialValues.Ieee"/>.</summary>
    Infinity = 0,

    /// <summary>+-MaxFinite.</summary>
    Saturate = 1,
}

/// <summary>
/// A binary floating-point format (sign, <see cref="ExponentBits"/>, <see cref="MantissaBits"/> fraction
/// bits, <see cref="Bias"/>) with exact round-to-nearest-even emulation in double precision.
/// </summary>
/// <remarks>
/// Every value of a supported format is exactly a double, so emulated values are carried as doubles.
/// Rounding works on the bits of the double (no intermediate float), so there is no double rounding.
/// Formats are limited to at most 8 exponent bits and 23 fraction bits: then any product of two floats
/// is exact in double, and round-to-odd in double (53 bits &gt;= precision + 2) makes fused operations exact.
/// </remarks>
public sealed class FloatFormat
{
    private const long SignMask = unchecked((long)0x8000_0000_0000_0000UL);
    private const long FractionMask = 0x000F_FFFF_FFFF_FFFFL;
    private const long InfinityBits = 0x7FF0_0000_0000_0000L;

    private readonly int _m;        // fraction bits
    private readonly int _eMin;     // exponent of MinNormal
    private readonly bool _saturate;
    private readonly uint _expAllOnes;
    private readonly uint _mantAllOnes;

    /// <summary>IEEE binary32. <c>Round(x) == (double)(float)x</c>.</summary>
    public static readonly FloatFormat Fp32 = new("fp32", 8, 23, 127, SpecialValues.Ieee, OverflowMode.Infinity);

    /// <summary>IEEE binary16: max 65504, overflow to inf.</summary>
    public static readonly FloatFormat Fp16 = new("fp16", 5, 10, 15, SpecialValues.Ieee, OverflowMode.Infinity);

    /// <summary>bfloat16 (binary32 range, 8-bit precision), overflow to inf.</summary>
    public static readonly FloatFormat Bf16 = new("bf16", 8, 7, 127, SpecialValues.Ieee, OverflowMode.Infinity);

    /// <summary>
    /// OCP FP8 E4M3FN: bias 7, no infinities, NaN = S.1111.111, max 448. Overflow saturates to +-448
    /// (also +-inf inputs, which the format cannot hold); NaN stays NaN.
    /// </summary>
    public static readonly FloatFormat Fp8E4M3 = new("fp8-e4m3", 4, 3, 7, SpecialValues.Fn, OverflowMode.Saturate);

    /// <summary>
    /// IEEE-like E4M3 as in the MPTorch code of El Arar et al.: exponent 1111 reserved for inf/NaN, max 240,
    /// with subnormals; finite overflow saturates to +-240, +-inf inputs stay +-inf.
    /// </summary>
    public static readonly FloatFormat Fp8E4M3Ieee = new("fp8-e4m3-ieee", 4, 3, 7, SpecialValues.Ieee, OverflowMode.Saturate);

    /// <summary>OCP FP8 E5M2 (IEEE-like): bias 15, max 57344, overflow to inf.</summary>
    public static readonly FloatFormat Fp8E5M2 = new("fp8-e5m2", 5, 2, 15, SpecialValues.Ieee, OverflowMode.Infinity);

    /// <summary>The predefined formats, in the order <see cref="Parse"/> lists them.</summary>
    public static IReadOnlyList<FloatFormat> Predefined { get; } = [Fp32, Fp16, Bf16, Fp8E4M3, Fp8E4M3Ieee, Fp8E5M2];

    public FloatFormat(string name, int exponentBits, int mantissaBits, int bias,
        SpecialValues specials = SpecialValues.Ieee, OverflowMode overflow = OverflowMode.Infinity)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (exponentBits is < 2 or > 8)
            throw new EmaException($"Float format '{name}': exponent bits must be in 2..8, got {exponentBits}.");
        if (mantissaBits is < 1 or > 23)
            throw new EmaException($"Float format '{name}': mantissa bits must be in 1..23, got {mantissaBits}.");
        if (specials == SpecialValues.Fn && overflow == OverflowMode.Infinity)
            throw new EmaException($"Float format '{name}': an FN format has no infinity, so overflow must saturate.");

        Name = name;
        ExponentBits = exponentBits;
        MantissaBits = mantissaBits;
        Bias = bias;
        Specials = specials;
        Overflow = overflow;

        _m = mantissaBits;
        _eMin = 1 - bias;
        _saturate = overflow == OverflowMode.Saturate;
        _expAllOnes = (1u << exponentBits) - 1;
        _mantAllOnes = (1u << mantissaBits) - 1;

        // IEEE reserves the top exponent; FN keeps it but gives up its largest mantissa (the NaN).
        MaxExponent = specials == SpecialValues.Ieee ? (int)_expAllOnes - 1 - bias : (int)_expAllOnes - bias;
        double topSignificand = specials == SpecialValues.Ieee ? 2 - Math.ScaleB(1, -_m) : 2 - Math.ScaleB(1, 1 - _m);
        if (_eMin - _m < -1000 || MaxExponent > 1000)
            throw new EmaException($"Float format '{name}': bias {bias} puts the range outside what doubles emulate exactly.");

        MaxFinite = topSignificand * Math.ScaleB(1, MaxExponent);
        MinNormal = Math.ScaleB(1, _eMin);
        MinSubnormal = Math.ScaleB(1, _eMin - _m);
        UnitRoundoff = Math.ScaleB(1, -(_m + 1));
    }

    public string Name { get; }
    public int ExponentBits { get; }
    /// <summary>Stored fraction bits (precision is MantissaBits + 1).</summary>
    public int MantissaBits { get; }
    public int Bias { get; }
    public SpecialValues Specials { get; }
    public OverflowMode Overflow { get; }

    public int TotalBits => 1 + ExponentBits + MantissaBits;
    public bool HasInfinity => Specials == SpecialValues.Ieee;
    /// <summary>Exponent of <see cref="MinNormal"/> (1 - bias).</summary>
    public int MinExponent => _eMin;
    /// <summary>Exponent of the binade that holds <see cref="MaxFinite"/>.</summary>
    public int MaxExponent { get; }

    /// <summary>u = 2^-(MantissaBits+1): relative error bound of one rounding in the normal range.</summary>
    public double UnitRoundoff { get; }
    public double MaxFinite { get; }
    public double MinNormal { get; }
    public double MinSubnormal { get; }

    public override string ToString() => Name;

    /// <summary>Looks up a predefined format by name (case-insensitive).</summary>
    /// <exception cref="EmaException">Unknown name; the message lists the known ones.</exception>
    public static FloatFormat Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string key = name.Trim();
        foreach (var f in Predefined)
            if (string.Equals(f.Name, key, StringComparison.OrdinalIgnoreCase))
                return f;
        throw new EmaException(
            $"Unknown float format '{name}'. Known formats: {string.Join(", ", Predefined.Select(f => f.Name))}.");
    }

    /// <summary>
    /// Rounds x to the nearest value of this format, ties to even, with gradual underflow. Signed zero is
    /// kept, NaN stays NaN, finite overflow gives +-inf or +-MaxFinite per <see cref="Overflow"/>; +-inf stays
    /// +-inf if the format has infinities, otherwise it saturates.
    /// </summary>
    public double Round(double x)
    {
        long bits = BitConverter.DoubleToInt64Bits(x);
        long sign = bits & SignMask;
        long abs = bits ^ sign;

        if (abs >= InfinityBits)
        {
            if (abs > InfinityBits || HasInfinity)
                return x;
            return sign != 0 ? -MaxFinite : MaxFinite;
        }

        int expField = (int)(abs >> 52);
        // Double subnormals (< 2^-1022) are far below half of MinSubnormal (>= 2^-1000): they go to zero.
        if (expField == 0)
            return BitConverter.Int64BitsToDouble(sign);

        int eX = expField - 1023;
        int e = Math.Max(eX, _eMin);               // exponent of the target binade (subnormals share eMin)
        int shift = 52 - _m + (e - eX);            // double significand bits below the target quantum 2^(e-m)
        if (shift > 63)
            return BitConverter.Int64BitsToDouble(sign);

        ulong sig = (ulong)(abs & FractionMask) | (1UL << 52);
        ulong q = sig >> shift;
        ulong rem = sig & ((1UL << shift) - 1);
        ulong half = 1UL << (shift - 1);
        if (rem > half || (rem == half && (q & 1) != 0))
            q++;

        // q <= 2^(m+1) and the quantum is a normal double, so this product is exact (a carry into the
        // next binade is just q == 2^(m+1)).
        double r = q * Pow2(e - _m);
        if (r > MaxFinite)
            r = _saturate ? MaxFinite : double.PositiveInfinity;
        return sign != 0 ? -r : r;
    }

    /// <summary>
    /// The correctly rounded sum round(a + b): one rounding of the exact sum, even when the exact sum needs
    /// more than 53 bits. Used for emulated additions and fused multiply-adds (b = an exact product).
    /// Exact for any a, b whose double sum does not overflow (TwoSum needs that); infinities and NaN follow
    /// IEEE addition, then <see cref="Round"/>.
    /// </summary>
    /// <remarks>
    /// TwoSum gives a + b = hi + lo exactly. Rounding hi directly could double-round (hi may sit on a midpoint
    /// of this format that the exact sum is not on), so hi is first turned into the round-to-odd value of the
    /// sum: if lo != 0 and hi is even, step one double ulp towards lo. Round-to-odd at 53 bits followed by RNE
    /// to at most 24 bits equals a single RNE (Boldo-Melquiond), range and subnormals included.
    /// </remarks>
    public double RoundSum(double a, double b)
    {
        double hi = a + b;
        if (!double.IsFinite(hi))
            return Round(hi);
        double bb = hi - a;
        double lo = (a - (hi - bb)) + (b - bb);
        if (lo != 0)
        {
            long hb = BitConverter.DoubleToInt64Bits(hi);
            if ((hb & 1) == 0)
            {
                // hi != 0 here; +-1 on the bits moves the magnitude up (same sign as lo) or down.
                hb += (hb ^ BitConverter.DoubleToInt64Bits(lo)) < 0 ? -1 : 1;
                hi = BitConverter.Int64BitsToDouble(hb);
            }
        }
        return Round(hi);
    }

    /// <summary>
    /// Bit pattern (in the low <see cref="TotalBits"/> bits) of <c>Round(x)</c>. Every NaN encodes as the positive
    /// canonical quiet NaN (IEEE: exponent all ones, top fraction bit set; FN: 0.1..1.1..1), since NaN signs carry
    /// no meaning (and .NET's double.NaN has its sign bit set).
    /// </summary>
    public uint Encode(double x)
    {
        double r = Round(x);
        if (double.IsNaN(r))
            return (_expAllOnes << _m) | (HasInfinity ? 1u << (_m - 1) : _mantAllOnes);

        long rb = BitConverter.DoubleToInt64Bits(r);
        uint signBit = rb < 0 ? 1u << (TotalBits - 1) : 0u;
        long abs = rb & ~SignMask;
        if (abs == InfinityBits)
            return signBit | (_expAllOnes << _m);   // only reachable for formats with infinities
        if (abs == 0)
            return signBit;

        int e = (int)(abs >> 52) - 1023;
        if (e < _eMin)   // subnormal: an exact integer multiple of MinSubnormal
            return signBit | (uint)(BitConverter.Int64BitsToDouble(abs) * Pow2(_m - _eMin));
        uint mant = (uint)((abs & FractionMask) >> (52 - _m));
        return signBit | ((uint)(e + Bias) << _m) | mant;
    }

    /// <summary>The value of a bit pattern (low <see cref="TotalBits"/> bits).</summary>
    public double Decode(uint bits)
    {
        if (TotalBits < 32 && bits >> TotalBits != 0)
            throw new ArgumentOutOfRangeException(nameof(bits), $"{Name} patterns have {TotalBits} bits; got 0x{bits:X}.");

        bool negative = (bits >> (TotalBits - 1) & 1) != 0;
        uint expField = (bits >> _m) & _expAllOnes;
        uint mant = bits & _mantAllOnes;
        double v;
        if (expField == _expAllOnes && HasInfinity)
            v = mant == 0 ? double.PositiveInfinity : double.NaN;
        else if (expField == _expAllOnes && mant == _mantAllOnes)
            v = double.NaN;
        else if (expField == 0)
            v = mant * MinSubnormal;
        else
            v = ((1u << _m) | mant) * Pow2((int)expField - Bias - _m);
        return negative ? -v : v;
    }

    /// <summary><see cref="Encode"/> for a 16-bit format.</summary>
    public ushort EncodeUInt16(double x)
    {
        RequireBits(16);
        return (ushort)Encode(x);
    }

    /// <summary><see cref="Encode"/> for an 8-bit format.</summary>
    public byte EncodeByte(double x)
    {
        RequireBits(8);
        return (byte)Encode(x);
    }

    private void RequireBits(int n)
    {
        if (TotalBits != n)
            throw new InvalidOperationException($"{Name} is a {TotalBits}-bit format, not {n}-bit.");
    }

    /// <summary>2^k for k in the normal double range, built from the bits (exact, no libm).</summary>
    private static double Pow2(int k) => BitConverter.Int64BitsToDouble((long)(k + 1023) << 52);
}
