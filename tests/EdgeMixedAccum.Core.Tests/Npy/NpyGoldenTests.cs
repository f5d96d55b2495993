using System.Text;
using EdgeMixedAccum.Npy;
using static EdgeMixedAccum.Tests.Npy.NpyTestUtil;

namespace EdgeMixedAccum.Tests.Npy;

public class NpyGoldenTests
{
    /// <summary>Spells out, byte by byte, what np.save writes for np.arange(6, dtype='&lt;f4').reshape(2, 3).</summary>
    private static byte[] ArangeF4Golden()
    {
        const string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        var b = new List<byte>(Magic) { 1, 0, 118, 0 };           // version 1.0, header length 118 (LE)
        b.AddRange(Encoding.ASCII.GetBytes(dict));              // 59 bytes
        while (b.Count < 127) b.Add((byte)' ');                 // pad with spaces ...
        b.Add((byte)'\n');                                      // ... and '\n': 128 bytes, a multiple of 64
        for (int i = 0; i < 6; i++) b.AddRange(BitConverter.GetBytes((float)i));
        return b.ToArray();
    }

    [Fact]
    public void Writer_ProducesNumpyBytes_ForArange6F4()
    {
        byte[] golden = ArangeF4Golden();
        Assert.Equal(128 + 24, golden.Length);
        var a = NpyArray.FromFloat32([0, 1, 2, 3, 4, 5], 2, 3);
        Assert.Equal(golden, ToBytes(a));
    }

    [Fact]
    public void Reader_ReadsNumpyBytes_ForArange6F4()
    {
        var a = FromBytes(ArangeF4Golden());
        Assert.Equal(NpyDType.Float32, a.DType);
        Assert.Equal([2, 3], a.Shape);
        Assert.Equal([0f, 1, 2, 3, 4, 5], a.ToFloat32());
    }

    [Fact]
    public void Writer_ScalarF8_MatchesNumpy()
    {
        // np.save(f, np.float64(2.5)) -> shape (), no growth padding for scalars
        byte[] expected = File("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", BitConverter.GetBytes(2.5));
        Assert.Equal(128 + 8, expected.Length);
        Assert.Equal(expected, ToBytes(NpyArray.FromFloat64([2.5])));
    }

    [Fact]
    public void Writer_OneDimInt8_MatchesNumpy()
    {
        // np.array([-1, 2, -3], dtype='i1'): descr '|i1', shape (3,) and 20 spare spaces (21 - len('3'))
        string dict = "{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }" + new string(' ', 20);
        byte[] expected = File(dict, [0xFF, 2, 0xFD]);
        Assert.Equal(expected, ToBytes(NpyArray.FromInt8([-1, 2, -3], 3)));
    }

    [Theory]
    [InlineData(new[] { 7 })]
    [InlineData(new[] { 123456, 2 })]
    [InlineData(new[] { 2, 1, 3, 1, 2, 1, 1, 2, 1, 10, 1 })]
    [InlineData(new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 })]
    public void Writer_HeaderLayoutFollowsNumpyRule(int[] shape)
    {
        // numpy: "{'descr': ..., 'fortran_order': False, 'shape': <repr>, }" + (21 - len(repr(shape[0]))) spaces,
        // then 1..64 spaces and '\n' so that magic+version+len+header is a multiple of 64.
        string repr = "(" + string.Join(", ", shape) + (shape.Length == 1 ? ",)" : ")");
        string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': " + repr + ", }"
                      + new string(' ', 21 - shape[0].ToString().Length);
        long n = shape.Aggregate(1L, (x, y) => x * y);
        var a = NpyArray.FromInt32(new int[n], shape);
        byte[] bytes = ToBytes(a);
        Assert.Equal(File(dict, new byte[n * 4]), bytes);
        int total = 10 + bytes[8] + (bytes[9] << 8);
        Assert.Equal(0, total % 64);
        Assert.Equal((byte)'\n', bytes[total - 1]);
    }

    [Fact]
    public void Writer_UsesVersion2_WhenHeaderExceeds65535Bytes()
    {
        // Real arrays never get such headers (<= 64 dims); exercise the rule through the internal wrapper.
        string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }" + new string(' ', 70000);
        byte[] header = NpyHeader.Wrap(dict);
        Assert.Equal(2, header[6]);
        Assert.Equal(0, header[7]);
        uint hlen = BitConverter.ToUInt32(header, 8);
        Assert.Equal(header.Length - 12, (int)hlen);
        Assert.Equal(0, header.Length % 64);
        byte[] file = [.. header, .. BitConverter.GetBytes(1.5f)];
        Assert.Equal([1.5f], FromBytes(file).ToFloat32());

        byte[] small = NpyHeader.Wrap("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }");
        Assert.Equal(1, small[6]);
    }

    [Fact]
    public void Writer_PaddingIsFull64_WhenAlreadyAligned()
    {
        // numpy pads with 64 spaces (not 0) when dict + '\n' would already end on a boundary.
        string dict = new string('x', 64 - 10 - 1);
        byte[] h = NpyHeader.Wrap(dict);
        Assert.Equal(128, h.Length);
        Assert.Equal(118, h[8]);
    }
}
