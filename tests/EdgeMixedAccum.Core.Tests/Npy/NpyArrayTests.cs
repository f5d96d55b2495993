using EdgeMixedAccum.Npy;
using static EdgeMixedAccum.Tests.Npy.NpyTestUtil;

namespace EdgeMixedAccum.Tests.Npy;

public class NpyArrayTests
{
    [Theory]
    [InlineData((ushort)0x3C00, 1.0f)]
    [InlineData((ushort)0xC000, -2.0f)]
    [InlineData((ushort)0x3555, 0.333251953125f)]
    [InlineData((ushort)0x7BFF, 65504f)]                 // largest finite
    [InlineData((ushort)0x0400, 6.103515625e-05f)]       // smallest normal 2^-14
    [InlineData((ushort)0x0001, 5.9604644775390625e-08f)] // smallest subnormal 2^-24
    [InlineData((ushort)0x03FF, 6.097555160522461e-05f)] // largest subnormal
    [InlineData((ushort)0x7C00, float.PositiveInfinity)]
    [InlineData((ushort)0xFC00, float.NegativeInfinity)]
    [InlineData((ushort)0x0000, 0f)]
    public void Float16_ToFloat32_FromFileBytes(ushort bits, float expected)
    {
        // '<f2' data is the little-endian bit pattern
        byte[] file = File("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", [(byte)bits, (byte)(bits >> 8)]);
        var a = FromBytes(file);
        Assert.Equal(NpyDType.Float16, a.DType);
        Assert.Equal(expected, a.ToFloat32()[0]);
        Assert.Equal(bits, BitConverter.HalfToUInt16Bits(a.AsSpan<Half>()[0]));
    }

    [Fact]
    public void Float16_SpecialValues()
    {
        var a = NpyArray.FromFloat16([BitConverter.UInt16BitsToHalf(0x8000), BitConverter.UInt16BitsToHalf(0x7E00)], 2);
        float[] f = a.ToFloat32();
        Assert.True(float.IsNegative(f[0]) && f[0] == 0f);
        Assert.True(float.IsNaN(f[1]));
        Assert.Equal([0x00, 0x80, 0x00, 0x7E], a.RawBytes.ToArray());
    }

    [Fact]
    public void Float16_AllFiniteBitPatterns_MatchHalfConversion()
    {
        var halves = new Half[65536];
        for (int i = 0; i < halves.Length; i++) halves[i] = BitConverter.UInt16BitsToHalf((ushort)i);
        float[] f = FromBytes(ToBytes(NpyArray.FromFloat16(halves, 256, 256))).ToFloat32();
        for (int i = 0; i < halves.Length; i++)
        {
            float want = (float)halves[i];
            Assert.True(want.Equals(f[i]), $"bits 0x{i:X4}");
            if (float.IsFinite(want)) Assert.Equal(halves[i], (Half)want); // exact: no rounding
        }
    }

    [Fact]
    public void ToFloat32_ConvertsEveryDType()
    {
        Assert.Equal([-128f, 0, 127], NpyArray.FromInt8([-128, 0, 127], 3).ToFloat32());
        Assert.Equal([0f, 255], NpyArray.FromUInt8([0, 255], 2).ToFloat32());
        Assert.Equal([-5f, 16777216], NpyArray.FromInt32([-5, 16777216], 2).ToFloat32());
        Assert.Equal([-7f, 1L << 40], NpyArray.FromInt64([-7, 1L << 40], 2).ToFloat32());
        Assert.Equal([0.1f, -3f], NpyArray.FromFloat64([0.1, -3.0], 2).ToFloat32());
        Assert.Equal([1.25f], NpyArray.FromFloat32([1.25f]).ToFloat32());
        Assert.Equal([0.5f], NpyArray.FromFloat16([(Half)0.5f], 1).ToFloat32());
        Assert.Empty(NpyArray.FromFloat32([], 0, 3).ToFloat32());
    }

    [Fact]
    public void ToInt64_IntegerTypesOnly()
    {
        Assert.Equal([-1L, 2], NpyArray.FromInt8([-1, 2], 2).ToInt64());
        Assert.Equal([200L], NpyArray.FromUInt8([200], 1).ToInt64());
        Assert.Equal([int.MinValue, 3L], NpyArray.FromInt32([int.MinValue, 3], 2).ToInt64());
        Assert.Equal([long.MaxValue], NpyArray.FromInt64([long.MaxValue], 1).ToInt64());
        foreach (var f in new[] { NpyArray.FromFloat32([1f], 1), NpyArray.FromFloat64([1.0], 1), NpyArray.FromFloat16([(Half)1f], 1) })
        {
            var e = Assert.Throws<EmaException>(() => f.ToInt64());
            Assert.Contains("integer dtype", e.Message);
            Assert.Contains(f.DType.Descr(), e.Message);
        }
    }

    [Fact]
    public void AsSpan_RequiresMatchingType_AndIsWritable()
    {
        var a = NpyArray.FromInt32([1, 2, 3], 3);
        a.AsSpan<int>()[1] = 20;
        Assert.Equal([1L, 20, 3], a.ToInt64());
        var e = Assert.Throws<EmaException>(() => a.AsSpan<float>());
        Assert.Contains("Int32", e.Message);
        Assert.Throws<EmaException>(() => a.AsSpan<uint>());
    }

    [Fact]
    public void Factories_ValidateShape()
    {
        var e = Assert.Throws<EmaException>(() => NpyArray.FromFloat32([1, 2, 3], 2, 2));
        Assert.Contains("(2, 2)", e.Message);
        e = Assert.Throws<EmaException>(() => NpyArray.FromFloat32([1, 2, 3]));
        Assert.Contains("scalar", e.Message);
        Assert.Contains("negative", Assert.Throws<EmaException>(() => NpyArray.FromInt64([], -1)).Message);
        Assert.Throws<EmaException>(() => new NpyArray(NpyDType.Int32, [2], new byte[7]));
        Assert.Throws<EmaException>(() => NpyArray.FromInt8([], Enumerable.Repeat(1, 65).Append(0).ToArray()));

        int[] shape = [2, 1];
        var a = NpyArray.FromInt32([1, 2], shape);
        shape[0] = 99;
        a.Shape[0] = 99;
        Assert.Equal([2, 1], a.Shape);
        Assert.Equal("NpyArray(<i4, shape (2, 1))", a.ToString());
    }
}
