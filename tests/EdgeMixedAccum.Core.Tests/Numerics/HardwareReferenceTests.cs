using EdgeMixedAccum.Numerics;
using static EdgeMixedAccum.Tests.Numerics.FloatFormatTests;

namespace EdgeMixedAccum.Tests.Numerics;

/// <summary>Rounding checked against .NET's own conversions: System.Half, float, and the bf16 bit trick.</summary>
public class HardwareReferenceTests
{
    private static readonly FloatFormat F16 = FloatFormat.Fp16;

    private static Half RandomHalf(Random rng) => BitConverter.UInt16BitsToHalf((ushort)rng.Next(65536));

    [Fact]
    public void Fp16RoundEqualsHalfConversionForRandomDoubles()
    {
        var rng = new Random(16);
        for (int i = 0; i < 200_000; i++)
        {
            double x = (i % 4) switch
            {
                0 => RandomDouble(rng, -27, 17),            // subnormals .. overflow
                1 => RandomShortDouble(rng, -27, 17, 14),   // few bits: exact ties at every level
                2 => BitConverter.Int64BitsToDouble(rng.NextInt64() | (rng.Next(2) == 0 ? 0 : long.MinValue)),
                _ => BitConverter.Int32BitsToSingle(rng.Next()) * (rng.Next(2) == 0 ? 1.0 : -1.0),
            };
            AssertSame((double)(Half)x, F16.Round(x), $"x={x:R}");
        }
    }

    [Fact]
    public void HalfConversionFromDoubleIsItselfCorrectlyRounded()
    {
        // Guards the reference: a conversion through float would double-round these.
        double x = 1 + Math.Pow(2, -11) + Math.Pow(2, -40);
        Assert.Equal(1 + Math.Pow(2, -10), (double)(Half)x);
        Assert.Equal(1 + Math.Pow(2, -10), F16.Round(x));
        Assert.Equal(1.0, (double)(Half)(float)x);  // the double-rounded answer
    }

    [Fact]
    public void EmulatedFp16ArithmeticMatchesSystemHalf()
    {
        // Half's + and * go through float; that is correctly rounded for fp16 operands since 24 >= 2*11 + 2.
        var rng = new Random(1616);
        for (int i = 0; i < 100_000; i++)
        {
            Half a = RandomHalf(rng), b = RandomHalf(rng);
            double da = (double)a, db = (double)b;
            AssertSame((double)(a + b), F16.RoundSum(da, db), $"{da:R} + {db:R}");
            AssertSame((double)(a + b), F16.Round(da + db), $"{da:R} + {db:R} (exact in double)");
            AssertSame((double)(a - b), F16.RoundSum(da, -db), $"{da:R} - {db:R}");
            AssertSame((double)(a * b), F16.Round(da * db), $"{da:R} * {db:R}");
        }
    }

    [Fact]
    public void EmulatedFp16FmaIsCorrectlyRoundedAndMatchesHalfWhereHalfIs()
    {
        // Reference for round(a*b + c): the exact BigInteger value rounded once. Half.FusedMultiplyAdd is
        // (Half)MathF.FusedMultiplyAdd(...): it rounds to float first, and 24 bits are not enough to make that
        // harmless for an FMA. So we match Half except where Half is the float-double-rounded value.
        var rng = new Random(1717);
        int halfDisagrees = 0, n = 0;
        for (int i = 0; i < 100_000; i++)
        {
            Half a = RandomHalf(rng), b = RandomHalf(rng), c = RandomHalf(rng);
            if (!Half.IsFinite(a) || !Half.IsFinite(b) || !Half.IsFinite(c))
                continue;
            n++;
            double da = (double)a, db = (double)b, dc = (double)c;
            var exact = Exact.Of(da * db) + Exact.Of(dc);   // da*db is exact in double (22 bits)
            double expected = exact.IsZero
                ? F16.Round(da * db + dc)                   // signed-zero rule of IEEE addition
                : Exact.RoundRne(exact, F16);
            double got = F16.RoundSum(dc, da * db);
            AssertSame(expected, got, $"fma({da:R}, {db:R}, {dc:R})");
            double half = (double)Half.FusedMultiplyAdd(a, b, c);
            if (!SameDouble(half, got))
            {
                halfDisagrees++;
                AssertSame((double)(Half)MathF.FusedMultiplyAdd((float)a, (float)b, (float)c), half, "Half FMA");
            }
        }
        Assert.True(halfDisagrees * 1000 < n, $"Half.FusedMultiplyAdd disagreed {halfDisagrees}/{n} times");
    }

    [Fact]
    public void HalfFusedMultiplyAddDoubleRoundsThroughFloat()
    {
        // Found by random search: the float result lands on an fp16 midpoint that the exact value misses.
        Half a = (Half)(-0.0219268798828125), b = (Half)(-5272.0), c = (Half)(-0.004764556884765625);
        var exact = Exact.Of((double)a * (double)b) + Exact.Of((double)c);
        Assert.Equal(115.5625, Exact.RoundRne(exact, F16));
        Assert.Equal(115.5625, F16.RoundSum((double)c, (double)a * (double)b));
        Assert.Equal(115.625, (double)Half.FusedMultiplyAdd(a, b, c));
    }

    [Fact]
    public void Bf16RoundMatchesTheFloatBitTrick()
    {
        var rng = new Random(1688);
        for (int i = 0; i < 200_000; i++)
        {
            int bits = rng.Next() | (rng.Next(2) == 0 ? 0 : int.MinValue);
            if (i % 2 == 1)
                bits &= unchecked((int)0xFFFF8000u) | (rng.Next(2) << 14);  // tails of exactly 0x8000 / 0xC000: ties
            float x = BitConverter.Int32BitsToSingle(bits);
            AssertSame(Bf16Reference(x), FloatFormat.Bf16.Round(x), $"x={x:R} (0x{bits:X8})");
        }
    }

    /// <summary>Classic float -> bfloat16 RNE: add 0x7FFF plus the lowest kept bit, truncate.</summary>
    private static double Bf16Reference(float x)
    {
        if (float.IsNaN(x))
            return double.NaN;
        uint u = BitConverter.SingleToUInt32Bits(x);
        u += 0x7FFFu + ((u >> 16) & 1);
        return BitConverter.UInt32BitsToSingle(u & 0xFFFF0000u);
    }

    [Fact]
    public void Fp32RoundEqualsCastToFloat()
    {
        var rng = new Random(32);
        for (int i = 0; i < 200_000; i++)
        {
            double x = (i % 3) switch
            {
                0 => RandomDouble(rng, -155, 130),
                1 => RandomShortDouble(rng, -155, 130, 26),
                _ => BitConverter.Int64BitsToDouble(rng.NextInt64() | (rng.Next(2) == 0 ? 0 : long.MinValue)),
            };
            AssertSame((double)(float)x, FloatFormat.Fp32.Round(x), $"x={x:R}");
        }
        foreach (double x in new[] { double.MaxValue, -double.Epsilon, float.MaxValue * 1.0000000001, double.NaN })
            AssertSame((double)(float)x, FloatFormat.Fp32.Round(x), $"x={x:R}");
    }
}
