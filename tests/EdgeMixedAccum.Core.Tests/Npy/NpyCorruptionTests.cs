
using EdgeMixedAccum.Npy;
using static EdgeMixedAccum.Tests.Npy.NpyTestUtil;

namespace EdgeMixedAccum.Tests.Npy;

public class NpyCorruptionTests
{
    private const string F4x23 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";

    private static byte[] Valid() => File(F4x23, new byte[24]);

    private static void Has(Exception e, params string[] parts)
    {
        foreach (string p in parts) Assert.True(e.Message.Contains(p), $"expected \"{p}\" in: {e.Message}");
    }

    [Fact]
    public void BadMagic()
    {
        byte[] b = Valid();
        b[1] = (byte)'X';
        var e = ReadFails(b, "in.npy");
        Has(e, "in.npy", "bad magic", "\\x93NUMPY", "byte offset 0");
        Assert.Equal(0, e.ByteOffset);
        Assert.Equal("in.npy", e.SourceName);

        Has(ReadFails([(byte)'P', (byte)'K', 3, 4, 0, 0, 0, 0]), "bad magic", "npz");
        Has(ReadFails([]), "empty");
    }

    [Theory]
    [InlineData(4, 0)]
    [InlineData(1, 1)]
    [InlineData(0, 0)]
    public void UnsupportedVersion(byte major, byte minor)
    {
        byte[] b = Valid();
        b[6] = major; b[7] = minor;
        Has(ReadFails(b, "v.npy"), "v.npy", "unsupported NPY format version", $"{major}.{minor}", "byte offset 6");
    }

    [Fact]
    public void HeaderLengthBeyondFile()
    {
        byte[] b = Valid();
        b[8] = 0xFF; b[9] = 0xFF;
        Has(ReadFails(b, "h.npy"), "h.npy", "header length 65535", "beyond the end", "byte offset 8");
        // Non-seekable: found out while reading, same message.
        var e = Assert.Throws<NpyFormatException>(() => NpyFile.Read(new TrickleStream(b), "h.npy"));
        Has(e, "header length 65535", "beyond the end", "byte offset 8");
    }

    [Fact]
    public void HeaderLengthAboveLimit_NonSeekable_NoHugeAllocation()
    {
        byte[] b = [.. Magic, 2, 0, 0xFF, 0xFF, 0xFF, 0x7F, (byte)'{'];
        var e = Assert.Throws<NpyFormatException>(() => NpyFile.Read(new TrickleStream(b)));
        Has(e, "header length 2147483647", "exceeds the limit", "byte offset 8");
        Has(ReadFails(b), "header length 2147483647", "beyond the end");
    }

    [Theory]
    [InlineData("", 1, "must start with a '{'")]
    [InlineData("['descr', '<f4']", 0, "must start with a '{'")]
    [InlineData("{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3), }", 9, "expected ':'")]
    [InlineData("{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3), }", 16, "expected ',' or '}'")]
    [InlineData("{'descr': <f4, 'fortran_order': False, 'shape': (2, 3), }", 10, "expected a quoted dtype")]
    [InlineData("{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3), }", 17, "expected ',' or '}' after the value of 'descr'")]
    [InlineData("{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3), }", 34, "must be True or False")]
    [InlineData("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }", 34, "must be True or False, found '0'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, }", 57, "expected a dimension")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", 53, "expected ',' or ')'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }", 50, "not a list")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", 50, "not a tuple")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0, 3), }", 52, "expected ',' or ')'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (,), }", 51, "expected a dimension")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x", 60, "after the closing")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", 58, "unknown key 'x'")]
    [InlineData("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", 17, "duplicate key 'descr'")]
    [InlineData("{'descr': '<f4', 'shape': (2, 3)}", 32, "missing key 'fortran_order'")]
    [InlineData("{'descr': '<f\\x34', 'fortran_order': False, 'shape': (2, 3)}", 13, "escape sequences")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", 57, "expected ',' or '}' after the value of 'shape', found end of header")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'oops", 58, "unterminated string")]
    [InlineData("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3)}", 10, "structured")]
    public void MalformedHeader_NamesPosition(string dict, int pos, string what)
    {
        var e = ReadFails(File(dict, new byte[24], newline: false, align: 1), "m.npy");
        Has(e, "m.npy", "header", what, $"header position {pos})", $"byte offset {10 + pos}");
        Assert.Equal(10 + pos, e.ByteOffset);
    }

    [Fact]
    public void MalformedHeader_ControlAndNonAsciiBytes()
    {
        byte[] b = File("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", new byte[24]);
        b[10 + 11] = 0x00; // inside '<f4'
        Has(ReadFails(b), "malformed header", "non-ASCII", "header position 11");
        b[10 + 11] = 0xE9;
        Has(ReadFails(b), "malformed header", "non-ASCII");
        b = File("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", new byte[24]);
        b[10] = 0xEF;
        Has(ReadFails(b), "malformed header", "byte 0xEF", "header position 0");
    }

    [Theory]
    [InlineData("<c8", "unsupported dtype '<c8'")]
    [InlineData("<i2", "unsupported dtype '<i2'")]
    [InlineData("|b1", "unsupported dtype '|b1'")]
    [InlineData("float32", "unsupported dtype 'float32'")]
    [InlineData("", "unsupported dtype ''")]
    [InlineData(">f4", "big-endian dtype '>f4'")]
    [InlineData(">i8", "big-endian dtype '>i8'")]
    [InlineData("=f4", "'=f4' has no explicit little-endian")]
    public void UnsupportedDType(string descr, string what)
    {
        var e = ReadFails(File($"{{'descr': '{descr}', 'fortran_order': False, 'shape': (2, 3), }}", new byte[48]), "d.npy");
        Has(e, "d.npy", what, "byte offset 20");
    }

    [Fact]
    public void NegativeAbsurdAndOverflowingDims()
    {
        Has(ReadFails(File("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", [])),
            "negative dimension at axis 1", "byte offset 64");
        Has(ReadFails(File("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999,), }", [])),
            "absurdly large", "99999999999", "byte offset 61");
        Has(ReadFails(File("{'descr': '<f4', 'fortran_order': False, 'shape': (2147483647, 2147483647, 2147483647), }", [])),
            "element count overflow", "(2147483647, 2147483647, 2147483647)", "byte offset 60");
        Has(ReadFails(File("{'descr': '<i8', 'fortran_order': False, 'shape': (2147483647, 2147483647), }", [])),
            "element count overflow");
        Has(ReadFails(File("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }", [])),
            "needs 40000000000 bytes", "more than the limit");
        string many = "(" + string.Join(", ", Enumerable.Repeat("1", 65)) + ")";
        Has(ReadFails(File($"{{'descr': '<f4', 'fortran_order': False, 'shape': {many}, }}", [0, 0, 0, 0])),
            "too many dimensions");
        // A zero dimension makes the array empty, however large the others are.
        Assert.Equal(0, FromBytes(File("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 2147483647, 2147483647), }", [])).ElementCount);
    }

    [Fact]
    public void ConfigurableDataLimit()
    {
        byte[] b = Valid();
        var e = Assert.Throws<NpyFormatException>(() => NpyFile.Read(new MemoryStream(b), "lim.npy", 23));
        Has(e, "lim.npy", "needs 24 bytes", "limit of 23 bytes");
        Assert.Equal(6, NpyFile.Read(new MemoryStream(b), "lim.npy", 24).ElementCount);
    }

    [Fact]
    public void DataTruncated_SaysExpectedAndActual()
    {
        byte[] b = File(F4x23, new byte[10]);
        Has(ReadFails(b, "t.npy"), "t.npy", "truncated", "expected 24 bytes", "found only 10", "(2, 3)", "byte offset 128");
        var e = Assert.Throws<NpyFormatException>(() => NpyFile.Read(new TrickleStream(b), "t.npy"));
        Has(e, "truncated", "expected 24 bytes", "found only 10");
    }

    [Fact]
    public void FortranOrder_Rejected_WhenNotEquivalentToC()
    {
        var e = ReadFails(File("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", new byte[24]), "f.npy");
        Has(e, "f.npy", "fortran_order True", "not supported", "(2, 3)", "byte offset 44");
    }

    [Fact]
    public void TrailingBytes_RejectedByPathReader()
    {
        string p = Path.Combine(Path.GetTempPath(), "ema-npy-trail-" + Guid.NewGuid().ToString("N") + ".npy");
        try
        {
            System.IO.File.WriteAllBytes(p, [.. Valid(), 1, 2, 3]);
            var e = Assert.Throws<NpyFormatException>(() => NpyFile.Read(p));
            Has(e, p, "3 trailing bytes", "byte offset 152");
            System.IO.File.WriteAllBytes(p, [0x93, (byte)'N']);
            Has(Assert.Throws<NpyFormatException>(() => NpyFile.Read(p)), p, "truncated");
        }
        finally
        {
            System.IO.File.Delete(p);
        }
    }

    [Fact]
    public void NoNameGiven_SaysNpyStream()
    {
        byte[] b = Valid();
        b[0] = 0;
        Assert.StartsWith("NPY stream: bad magic", ReadFails(b).Message);
    }

    [Fact]
    public void TruncationAtEveryOffset_GivesCleanFormatError()
    {
        byte[][] files =
        [
            ToBytes(NpyArray.FromFloat32([1, 2, 3, 4, 5, 6], 2, 3)),
            File(F4x23, new byte[24], major: 2),
            File(F4x23, new byte[24], major: 3),
        ];
        foreach (byte[] full in files)
        {
            for (int len = 0; len < full.Length; len++)
            {
                byte[] cut = full[..len];
                var e1 = Assert.Throws<NpyFormatException>(() => FromBytes(cut, "cut.npy"));
                Assert.Contains("cut.npy", e1.Message);
                Assert.NotNull(e1.ByteOffset);
                var e2 = Assert.Throws<NpyFormatException>(() => NpyFile.Read(new TrickleStream(cut, 5), "cut.npy"));
                Assert.Contains("cut.npy", e2.Message);
            }
            Assert.Equal(6, FromBytes(full).ElementCount);
        }
    }

    [Fact]
    public void RandomByteFlips_NeverThrowAnythingElse()
    {
        byte[] full = ToBytes(NpyArray.FromInt32([1, 2, 3, 4, 5, 6], 3, 2));
        var rng = new Random(1234);
        for (int iter = 0; iter < 3000; iter++)
        {
            byte[] b = (byte[])full.Clone();
            int flips = 1 + rng.Next(3);
            for (int k = 0; k < flips; k++) b[rng.Next(b.Length)] = (byte)rng.Next(256);
            try { FromBytes(b); }
            catch (NpyFormatException) { }
        }
    }
}
