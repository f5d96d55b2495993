using EdgeMixedAccum.Numerics;

namespace EdgeMixedAccum.Tests.Numerics;

public class FloatFormatTests
{
    public static TheoryData<string> SmallFormats => new() { "fp16", "bf16", "fp8-e4m3", "fp8-e4m3-ieee", "fp8-e5m2" };

    internal static bool SameDouble(double a, double b)
        => double.IsNaN(a) ? double.IsNaN(b) : BitConverter.DoubleToInt64Bits(a) == BitConverter.DoubleToInt64Bits(b);

    internal static void AssertSame(double expected, double actual, string context = "")
    {
        if (!SameDouble(expected, actual))
            Assert.Fail($"{context} expected {expected:R} (0x{BitConverter.DoubleToInt64Bits(expected):X16}) " +
                        $"but got {actual:R} (0x{BitConverter.DoubleToInt64Bits(actual):X16})");
    }

    [Fact]
    public void DerivedConstantsMatchTheFormatDefinitions()
    {
        Assert.Equal(65504, FloatFormat.Fp16.MaxFinite);
        Assert.Equal(Math.Pow(2, -14), FloatFormat.Fp16.MinNormal);
        Assert.Equal(Math.Pow(2, -24), FloatFormat.Fp16.MinSubnormal);
        Assert.Equal(Math.Pow(2, -11), FloatFormat.Fp16.UnitRoundoff);
        Assert.Equal(16, FloatFormat.Fp16.TotalBits);

        Assert.Equal((double)float.MaxValue, FloatFormat.Fp32.MaxFinite);
        Assert.Equal((double)float.Epsilon, FloatFormat.Fp32.MinSubnormal);
        Assert.Equal(Math.Pow(2, -126), FloatFormat.Fp32.MinNormal);
        Assert.Equal(Math.Pow(2, -24), FloatFormat.Fp32.UnitRoundoff);

        Assert.Equal((2 - Math.Pow(2, -7)) * Math.Pow(2, 127), FloatFormat.Bf16.MaxFinite);
        Assert.Equal(Math.Pow(2, -133), FloatFormat.Bf16.MinSubnormal);
        Assert.Equal(Math.Pow(2, -8), FloatFormat.Bf16.UnitRoundoff);

        Assert.Equal(448, FloatFormat.Fp8E4M3.MaxFinite);
        Assert.Equal(Math.Pow(2, -6), FloatFormat.Fp8E4M3.MinNormal);
        Assert.Equal(Math.Pow(2, -9), FloatFormat.Fp8E4M3.MinSubnormal);
        Assert.Equal(Math.Pow(2, -4), FloatFormat.Fp8E4M3.UnitRoundoff);
        Assert.False(FloatFormat.Fp8E4M3.HasInfinity);

        Assert.Equal(240, FloatFormat.Fp8E4M3Ieee.MaxFinite);
        Assert.Equal(Math.Pow(2, -9), FloatFormat.Fp8E4M3Ieee.MinSubnormal);
        Assert.True(FloatFormat.Fp8E4M3Ieee.HasInfinity);

        Assert.Equal(57344, FloatFormat.Fp8E5M2.MaxFinite);
        Assert.Equal(Math.Pow(2, -14), FloatFormat.Fp8E5M2.MinNormal);
        Assert.Equal(Math.Pow(2, -16), FloatFormat.Fp8E5M2.MinSubnormal);
        Assert.Equal(Math.Pow(2, -3), FloatFormat.Fp8E5M2.UnitRoundoff);
    }

    [Theory]
    [InlineData("fp32")]
    [InlineData("FP16")]
    [InlineData(" bf16 ")]
    [InlineData("fp8-e4m3")]
    [InlineData("fp8-e4m3-ieee")]
    [InlineData("fp8-e5m2")]
    public void ParseFindsPredefinedFormats(string name)
    {
        var f = FloatFormat.Parse(name);
        Assert.Equal(name.Trim().ToLowerInvariant(), f.Name);
        Assert.Contains(f, FloatFormat.Predefined);
    }

    [Fact]
    public void ParseRejectsUnknownNamesListingTheKnownOnes()
    {
        var ex = Assert.Throws<EmaException>(() => FloatFormat.Parse("fp12"));
        Assert.Contains("fp12", ex.Message);
        foreach (var f in FloatFormat.Predefined)
            Assert.Contains(f.Name, ex.Message);
    }

    [Fact]
    public void ConstructorRejectsInconsistentFormats()
    {
        Assert.Throws<EmaException>(() => new FloatFormat("x", 4, 3, 7, SpecialValues.Fn, OverflowMode.Infinity));
        Assert.Throws<EmaException>(() => new FloatFormat("x", 9, 3, 7));
        Assert.Throws<EmaException>(() => new FloatFormat("x", 4, 0, 7));
        Assert.Throws<EmaException>(() => new FloatFormat("x", 8, 7, 1100));
    }

    [Fact]
    public void CustomFormatWorksLikeThePredefinedOne()
    {
        var mine = new FloatFormat("my-e5m2", 5, 2, 15);
        for (uint b = 0; b < 256; b++)
            AssertSame(FloatFormat.Fp8E5M2.Decode(b), mine.Decode(b));
    }

    [Theory]
    [MemberData(nameof(SmallFormats))]
    public void EveryPatternDecodesEncodesAndRoundsToItself(string name)
    {
        var f = FloatFormat.Parse(name);
        uint count = 1u << f.TotalBits;
        for (uint b = 0; b < count; b++)
        {
            double v = f.Decode(b);
            uint back = f.Encode(v);
            if (double.IsNaN(v))
            {
                Assert.True(double.IsNaN(f.Decode(back)), $"{name} 0x{b:X}: NaN re-encodes as non-NaN 0x{back:X}");
                Assert.True(double.IsNaN(f.Round(v)));
                continue;
            }
            Assert.True(back == b, $"{name} 0x{b:X} -> {v:R} -> 0x{back:X}");
            AssertSame(v, f.Round(v), $"{name} 0x{b:X}");
        }
    }

    [Fact]
    public void DecodeAgreesWithIndependentDecoders()
    {
        for (int b = 0; b < 65536; b++)
        {
            AssertSame((double)BitConverter.UInt16BitsToHalf((ushort)b), FloatFormat.Fp16.Decode((uint)b), $"fp16 0x{b:X4}");
            AssertSame(BitConverter.Int32BitsToSingle(b << 16), FloatFormat.Bf16.Decode((uint)b), $"bf16 0x{b:X4}");
        }
        for (int b = 0; b < 256; b++)
        {
            AssertSame(Fp8BruteForce.NaiveDecode(b, 4, 3, 7, fn: true), FloatFormat.Fp8E4M3.Decode((uint)b));
            AssertSame(Fp8BruteForce.NaiveDecode(b, 4, 3, 7, fn: false), FloatFormat.Fp8E4M3Ieee.Decode((uint)b));
            AssertSame(Fp8BruteForce.NaiveDecode(b, 5, 2, 15, fn: false), FloatFormat.Fp8E5M2.Decode((uint)b));
        }
        // The two NaN conventions of E4M3: FN has 0x78..0x7E as numbers (256..448), IEEE-like has +inf/NaN there.
        Assert.Equal(448, FloatFormat.Fp8E4M3.Decode(0x7E));
        Assert.True(double.IsNaN(FloatFormat.Fp8E4M3.Decode(0x7F)));
        Assert.True(double.IsNaN(FloatFormat.Fp8E4M3.Decode(0xFF)));
        Assert.Equal(double.PositiveInfinity, FloatFormat.Fp8E4M3Ieee.Decode(0x78));
        Assert.Equal(240, FloatFormat.Fp8E4M3Ieee.Decode(0x77));
    }

    [Fact]
    public void EncodeWidthHelpersAndNaNPatterns()
    {
        Assert.Equal((ushort)0x3C00, FloatFormat.Fp16.EncodeUInt16(1.0));
        Assert.Equal((ushort)0x7E00, FloatFormat.Fp16.EncodeUInt16(double.NaN));
        Assert.Equal((ushort)0x7FC0, FloatFormat.Bf16.EncodeUInt16(double.NaN));
        Assert.Equal((byte)0x7F, FloatFormat.Fp8E4M3.EncodeByte(double.NaN));
        Assert.Equal((byte)0x7F, FloatFormat.Fp8E4M3.EncodeByte(-double.NaN));
        Assert.Equal((byte)0x7E, FloatFormat.Fp8E5M2.EncodeByte(double.NaN));
        Assert.Equal((byte)0x7C, FloatFormat.Fp8E4M3Ieee.EncodeByte(double.NaN));
        Assert.Equal((byte)0x7E, FloatFormat.Fp8E4M3.EncodeByte(double.PositiveInfinity));
        Assert.Equal((byte)0x78, FloatFormat.Fp8E4M3Ieee.EncodeByte(double.PositiveInfinity));
        Assert.Equal((byte)0x77, FloatFormat.Fp8E4M3Ieee.EncodeByte(1e9));
        Assert.Equal((byte)0xFC, FloatFormat.Fp8E5M2.EncodeByte(double.NegativeInfinity));
        Assert.Equal((byte)0x80, FloatFormat.Fp8E5M2.EncodeByte(-0.0));
        Assert.Equal(0x3F800000u, FloatFormat.Fp32.Encode(1.0));
        Assert.Throws<InvalidOperationException>(() => FloatFormat.Fp16.EncodeByte(1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => FloatFormat.Fp8E5M2.Decode(0x100));
    }

    /// <summary>
    /// For every pair of adjacent non-negative finite values: the midpoint ties to the even pattern, one double
    /// ulp either side goes to the nearer value; same mirrored for negatives. Covers the subnormal/normal
    /// boundary and the tie at MinSubnormal/2 (pair 0, MinSubnormal).
    /// </summary>
    [Theory]
    [MemberData(nameof(SmallFormats))]
    public void MidpointsTieToEvenAndNeighboursGoToTheNearer(string name)
    {
        var f = FloatFormat.Parse(name);
        uint prevBits = 0;
        double prev = 0;
        for (uint b = 1; ; b++)
        {
            double v = f.Decode(b);
            if (!double.IsFinite(v))
                break;
            Assert.True(v > prev);
            double mid = (prev + v) / 2;   // exact: both have few bits
            double even = (prevBits & 1) == 0 ? prev : v;
            AssertSame(even, f.Round(mid), $"{name} mid({prev:R},{v:R})");
            AssertSame(-even, f.Round(-mid), $"{name} -mid");
            AssertSame(prev, f.Round(Math.BitDecrement(mid)), $"{name} below mid");
            AssertSame(v, f.Round(Math.BitIncrement(mid)), $"{name} above mid");
            AssertSame(-prev, f.Round(-Math.BitDecrement(mid)), $"{name} -below mid");
            AssertSame(-v, f.Round(-Math.BitIncrement(mid)), $"{name} -above mid");
            prev = v;
            prevBits = b;
        }
        Assert.Equal(f.MaxFinite, prev);
    }

    [Fact]
    public void MinSubnormalHalfTiesToSignedZero()
    {
        foreach (var f in FloatFormat.Predefined)
        {
            double h = f.MinSubnormal / 2;
            AssertSame(0.0, f.Round(h), f.Name);
            AssertSame(-0.0, f.Round(-h), f.Name);
            AssertSame(f.MinSubnormal, f.Round(Math.BitIncrement(h)), f.Name);
            AssertSame(-0.0, f.Round(-double.Epsilon), f.Name);
            AssertSame(0.0, f.Round(1e-300), f.Name);
            AssertSame(2 * f.MinSubnormal, f.Round(1.5 * f.MinSubnormal), f.Name);
            AssertSame(f.MinNormal, f.Round(f.MinNormal - f.MinSubnormal / 2), f.Name);   // tie: MinNormal is even
        }
    }

    [Fact]
    public void OverflowFollowsEachFormat()
    {
        // IEEE non-saturating: half an ulp above max (the tie, max has an odd mantissa) and beyond go to inf.
        foreach (var f in new[] { FloatFormat.Fp16, FloatFormat.Bf16, FloatFormat.Fp8E5M2, FloatFormat.Fp32 })
        {
            double halfUlp = Math.ScaleB(1, f.MaxExponent - f.MantissaBits - 1);
            double tie = f.MaxFinite + halfUlp;
            AssertSame(f.MaxFinite, f.Round(Math.BitDecrement(tie)), f.Name);
            AssertSame(double.PositiveInfinity, f.Round(tie), f.Name);
            AssertSame(double.NegativeInfinity, f.Round(-tie), f.Name);
            AssertSame(double.PositiveInfinity, f.Round(double.MaxValue), f.Name);
            AssertSame(double.NegativeInfinity, f.Round(double.NegativeInfinity), f.Name);
        }
        Assert.Equal(65504, FloatFormat.Fp16.Round(65519.99));
        Assert.Equal(double.PositiveInfinity, FloatFormat.Fp16.Round(65520));

        // E4M3FN: 464 is the tie between 448 (mantissa 110, even) and the NaN slot 480: it rounds to 448;
        // anything that would round to 480 or beyond saturates; inf saturates; NaN stays NaN.
        var fn = FloatFormat.Fp8E4M3;
        Assert.Equal(448, fn.Round(464));
        Assert.Equal(448, fn.Round(Math.BitIncrement(464.0)));
        Assert.Equal(448, fn.Round(1e30));
        Assert.Equal(-448, fn.Round(-1e30));
        Assert.Equal(448, fn.Round(double.PositiveInfinity));
        Assert.Equal(-448, fn.Round(double.NegativeInfinity));
        Assert.True(double.IsNaN(fn.Round(double.NaN)));

        // IEEE-like E4M3 (MPTorch): finite overflow saturates at 240, infinities are kept.
        var ie = FloatFormat.Fp8E4M3Ieee;
        Assert.Equal(240, ie.Round(247.99));
        Assert.Equal(240, ie.Round(248));
        Assert.Equal(-240, ie.Round(-1e300));
        Assert.Equal(double.PositiveInfinity, ie.Round(double.PositiveInfinity));
    }

    [Fact]
    public void RoundAgreesWithTheBruteForceFp8ReferenceOnRandomDoubles()
    {
        var rng = new Random(8);
        var pairs = new[]
        {
            (FloatFormat.Fp8E4M3, Fp8BruteForce.E4M3),
            (FloatFormat.Fp8E4M3Ieee, Fp8BruteForce.E4M3Ieee),
            (FloatFormat.Fp8E5M2, Fp8BruteForce.E5M2),
        };
        foreach (var (f, reference) in pairs)
        {
            for (int i = 0; i < 20000; i++)
            {
                // Alternate full-precision values with short ones (few fraction bits) that hit ties exactly.
                double x = i % 2 == 0 ? RandomDouble(rng, -20, 18) : RandomShortDouble(rng, -20, 18, 6);
                AssertSame(reference.Round(x), f.Round(x), $"{f.Name} x={x:R}");
            }
            foreach (double x in new[] { 0.0, -0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1e300, -1e-300 })
                AssertSame(reference.Round(x), f.Round(x), $"{f.Name} x={x:R}");
        }
    }

    /// <summary>Random sign, exponent uniform in [minExp, maxExp], random 52-bit fraction.</summary>
    internal static double RandomDouble(Random rng, int minExp, int maxExp)
    {
        long frac = rng.NextInt64(1L << 52);
        long exp = rng.Next(minExp, maxExp + 1) + 1023;
        long sign = rng.Next(2) == 0 ? 0 : long.MinValue;
        return BitConverter.Int64BitsToDouble(sign | (exp << 52) | frac);
    }

    /// <summary>Like <see cref="RandomDouble"/> but with only the top fractionBits of the fraction random.</summary>
    internal static double RandomShortDouble(Random rng, int minExp, int maxExp, int fractionBits)
    {
        long mask = ((1L << fractionBits) - 1) << (52 - fractionBits);
        return BitConverter.Int64BitsToDouble(BitConverter.DoubleToInt64Bits(RandomDouble(rng, minExp, maxExp)) & ~(0xF_FFFF_FFFF_FFFFL & ~mask));
    }
}
