using System.Buffers.Binary;
using EdgeMixedAccum.Format;
using static EdgeMixedAccum.Tests.Format.CorruptFiles;

namespace EdgeMixedAccum.Tests.Format;

/// <summary>Corrupt headers and section tables; each patch re-fixes the CRCs so the targeted check is the one that fires.</summary>
public class HeaderAndTableCorruptionTests
{
    private static readonly byte[] Good = EmaWriter.ToBytes(Small());
    private static byte[] Copy() => (byte[])Good.Clone();
    private static readonly string[] Names = ["META", "GRAPH", "TENSORS", "DATA"];

    private static byte[] Fixed(Action<byte[]> patch)
    {
        var f = Copy();
        patch(f);
        RawFile.FixCrcs(f);
        return f;
    }

    [Fact]
    public void GoodFile_Reads()
    {
        ModelAssert.Equivalent(Small(), EmaReader.Read(Good));
        // FixCrcs on an unpatched file changes nothing.
        Assert.Equal(Good, Fixed(_ => { }));
    }

    [Fact]
    public void Empty_AndShorterThanHeader()
    {
        AssertCorrupt([], "HEADER", 0, "shorter than");
        AssertCorrupt(Good[..63], "HEADER", 0, "shorter than");
    }

    [Fact]
    public void BadMagic()
    {
        for (int i = 0; i < 8; i++)
        {
            var f = Copy();
            f[i] ^= 0x20;
            AssertCorrupt(f, "HEADER", 0, "bad magic");
        }
        // A text-mode transfer that turns \r\n into \n breaks the magic.
        var crlf = Good.ToList();
        crlf.RemoveAt(4);
        AssertCorrupt(crlf.ToArray(), "HEADER", 0, "bad magic");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(0xFFFF)]
    public void UnsupportedMajorVersion(int major)
    {
        AssertCorrupt(Fixed(f => RawFile.SetU16(f, 8, (ushort)major)), "HEADER", 8, $"major version {major}");
        // Also without fixing the CRC: the version is checked first.
        var g = Copy();
        RawFile.SetU16(g, 8, (ushort)major);
        AssertCorrupt(g, "HEADER", 8, "major version");
    }

    [Fact]
    public void OtherMinorVersion_IsAccepted()
    {
        ModelAssert.Equivalent(Small(), EmaReader.Read(Fixed(f => RawFile.SetU16(f, 10, 9))));
    }

    [Fact]
    public void HeaderCrcMismatch()
    {
        var f = Copy();
        f[36] ^= 1;
        AssertCorrupt(f, "HEADER", 36, "header CRC");
        f = Copy();
        f[20] ^= 1; // table offset, protected by the header CRC
        AssertCorrupt(f, "HEADER", 36, "header CRC");
    }

    [Fact]
    public void ReservedHeaderBytes_MustBeZero()
    {
        for (int i = 40; i < 64; i++)
            AssertCorrupt(Fixed(f => f[i] = 0x80), "HEADER", i, "reserved");
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(65u)]
    [InlineData(uint.MaxValue)]
    public void SectionCount_OutOfRange(uint count)
    {
        AssertCorrupt(Fixed(f => RawFile.SetU32(f, 12, count)), "HEADER", 12, "section count");
    }

    [Fact]
    public void SectionCount_TableRunsPastEnd()
    {
        var f = Good[..128]; // header + two table entries
        RawFile.SetU64(f, 24, 128);
        RawFile.FixCrcs(f);
        AssertCorrupt(f, "TABLE", 64, "runs past the end");
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(128UL)]
    [InlineData(ulong.MaxValue)]
    public void TableOffset_MustBe64(ulong offset)
    {
        AssertCorrupt(Fixed(f => RawFile.SetU64(f, 16, offset)), "HEADER", 16, "table offset");
    }

    [Theory]
    [InlineData(-1L)]
    [InlineData(1L)]
    [InlineData(long.MaxValue)]
    public void HeaderFileLength_Mismatch(long delta)
    {
        ulong declared = delta == long.MaxValue ? ulong.MaxValue : (ulong)(Good.Length + delta);
        AssertCorrupt(Fixed(f => RawFile.SetU64(f, 24, declared)), "HEADER", 24, $"says the file is {declared} bytes");
        // Extra bytes appended to a good file.
        AssertCorrupt([.. Good, 0], "HEADER", 24, $"but it is {Good.Length + 1}");
    }

    [Fact]
    public void TableCrcMismatch()
    {
        for (int i = 64; i < 64 + 4 * 32; i += 7)
        {
            var f = Copy();
            f[i] ^= 0x10;
            AssertCorrupt(f, "TABLE", 64, "table CRC");
        }
    }

    [Fact]
    public void SectionCrcMismatch_ForEachSection()
    {
        for (int s = 0; s < 4; s++)
        {
            // A wrong CRC in the table entry, with the table and header CRCs made consistent with it.
            var f = Copy();
            f[64 + 32 * s + 24] ^= 1;
            RawFile.SetU32(f, 32, System.IO.Hashing.Crc32.HashToUInt32(f.AsSpan(64, 128)));
            RawFile.SetU32(f, 36, System.IO.Hashing.Crc32.HashToUInt32(f.AsSpan(0, 36)));
            AssertCorrupt(f, Names[s], RawFile.Entry(f, s).Offset, "CRC-32 mismatch over");
        }
    }

    [Fact]
    public void SectionContentChanged_FailsItsCrc()
    {
        for (int s = 0; s < 4; s++)
        {
            var (_, _, off, len) = RawFile.Entry(Good, s);
            var f = Copy();
            f[off + len - 1] ^= 0x40;
            AssertCorrupt(f, Names[s], off, "CRC-32 mismatch");
        }
    }

    [Fact]
    public void DataCrc_CanBeSkipped()
    {
        var (_, _, off, _) = RawFile.Entry(Good, 3);
        var f = Copy();
        f[off + 1] ^= 0x01; // int8 weight 1 of w1 (DATA starts with its blob), kept off -128
        if ((sbyte)f[off + 1] == -128) f[off + 1] ^= 0x03;
        AssertCorrupt(f, "DATA", off, "CRC-32 mismatch");
        var read = EmaReader.Read(f, options: new EmaReadOptions { VerifyDataCrc = false });
        Assert.Equal((sbyte)f[off + 1], read.Graph.Tensors[0].AsInt8()[1]);
    }

    [Fact]
    public void UnknownFlags()
    {
        for (int s = 0; s < 4; s++)
            AssertCorrupt(Fixed(f => RawFile.SetU32(f, 64 + 32 * s + 4, 2)), "TABLE", 64 + 32 * s + 4, "unknown flags");
    }

    [Fact]
    public void ReservedTableField_MustBeZero()
    {
        AssertCorrupt(Fixed(f => RawFile.SetU32(f, 64 + 32 * 2 + 28, 1)), "TABLE", 64 + 32 * 2 + 28, "reserved");
    }

    [Fact]
    public void SectionOffset_NotAligned()
    {
        for (int s = 0; s < 4; s++)
        {
            long at = 64 + 32 * s;
            AssertCorrupt(Fixed(f => RawFile.SetU64(f, at + 8, (ulong)RawFile.Entry(Good, s).Offset + 4)), "TABLE", at + 8, "not a multiple of 64");
        }
    }

    [Fact]
    public void SectionOffset_InsideHeaderOrTable()
    {
        AssertCorrupt(Fixed(f => RawFile.SetU64(f, 64 + 8, 0)), "TABLE", 64 + 8, "overlaps the header");
        AssertCorrupt(Fixed(f => RawFile.SetU64(f, 64 + 32 + 8, 128)), "TABLE", 64 + 32 + 8, "overlaps the header");
    }

    [Fact]
    public void SectionPastEndOfFile()
    {
        for (int s = 0; s < 4; s++)
        {
            long at = 64 + 32 * s;
            var (_, _, off, _) = RawFile.Entry(Good, s);
            AssertCorrupt(Fixed(f => RawFile.SetU64(f, at + 16, (ulong)(Good.Length - off + 1))), "TABLE", at + 16, "past the end");
            AssertCorrupt(Fixed(f => RawFile.SetU64(f, at + 16, ulong.MaxValue)), "TABLE", at + 16, "past the end");
            AssertCorrupt(Fixed(f => RawFile.SetU64(f, at + 8, (ulong)Good.Length + 64)), "TABLE", at + 16, "past the end");
            AssertCorrupt(Fixed(f => RawFile.SetU64(f, at + 8, ulong.MaxValue - 63)), "TABLE", at + 16, "past the end");
        }
    }

    [Fact]
    public void OverlappingSections()
    {
        // META grows by one byte into GRAPH: the later-starting GRAPH entry is named.
        var (_, _, metaOff, _) = RawFile.Entry(Good, 0);
        var (_, _, graphOff, _) = RawFile.Entry(Good, 1);
        AssertCorrupt(Fixed(f => RawFile.SetU64(f, 64 + 16, (ulong)(graphOff - metaOff + 1))), "TABLE", 64 + 32 + 8, "overlaps section META");
        // TENSORS points at GRAPH's bytes (same start).
        var f2 = Fixed(f => RawFile.SetU64(f, 64 + 64 + 8, (ulong)graphOff));
        var e = AssertCorrupt(f2, "TABLE", null, "overlaps");
        Assert.Contains(e.Offset, new long[] { 64 + 32 + 8, 64 + 64 + 8 });
        // DATA placed inside META's range (the file is rebuilt so that the bytes there are DATA's).
        var raw = RawFile.From(Small());
        var enc = raw.Encode();
        var g = enc.Bytes;
        RawFile.SetU64(g, 64 + 96 + 8, (ulong)enc["META"]);
        RawFile.FixCrcs(g);
        AssertCorrupt(g, "TABLE", null, "overlaps");
    }

    [Fact]
    public void DuplicateSectionKind()
    {
        foreach (uint kind in new uint[] { 1, 2, 3, 4 })
        {
            var raw = RawFile.From(Small());
            raw.Extra.Add((kind, 0, [0, 0, 0, 0]));
            AssertCorrupt(raw.Encode().Bytes, "TABLE", 64 + 32 * 4, "appears twice");
            // Flagged optional does not make a known kind skippable twice.
            raw.Extra[0] = (kind, 1, [0, 0, 0, 0]);
            AssertCorrupt(raw.Encode().Bytes, "TABLE", 64 + 32 * 4, "appears twice");
        }
    }

    [Fact]
    public void MissingSection()
    {
        for (int s = 0; s < 4; s++)
        {
            // Turn the section into an unknown optional one: then it is simply missing.
            int entry = s;
            AssertCorrupt(Fixed(f => { RawFile.SetU32(f, 64 + 32 * entry, 77); RawFile.SetU32(f, 64 + 32 * entry + 4, 1); }),
                "TABLE", 64, $"required section {Names[s]} is missing");
        }
        // Dropping the last table entry (DATA) by lowering the count.
        AssertCorrupt(Fixed(f => RawFile.SetU32(f, 12, 3)), "TABLE", 64, "DATA is missing");
    }

    [Fact]
    public void UnknownSectionKind_RejectedUnlessOptional()
    {
        // Kind 9 is unknown (5 is TARGET, ema-format.md).
        var raw = RawFile.From(Small());
        raw.Extra.Add((9, 0, [1, 2, 3]));
        AssertCorrupt(raw.Encode().Bytes, "TABLE", 64 + 32 * 4, "unknown section kind 9");
        raw.Extra[0] = (9, 1, [1, 2, 3]);
        ModelAssert.Equivalent(Small(), EmaReader.Read(raw.Encode().Bytes));
        raw.Extra[0] = (0, 0, []);
        AssertCorrupt(raw.Encode().Bytes, "TABLE", 64 + 32 * 4, "unknown section kind 0");
        // An unknown optional section is still CRC-checked and bounds-checked.
        raw.Extra[0] = (9, 1, [1, 2, 3]);
        var enc = raw.Encode();
        var f = enc.Bytes;
        f[enc["EXTRA0"]] ^= 1;
        AssertCorrupt(f, "#9", enc["EXTRA0"], "CRC-32 mismatch");
    }

    [Fact]
    public void MaximumSectionCount_WithOptionalSections_Reads()
    {
        var raw = RawFile.From(Small());
        for (int i = 0; i < 60; i++) raw.Extra.Add((100 + (uint)i, 1, new byte[i]));
        ModelAssert.Equivalent(Small(), EmaReader.Read(raw.Encode().Bytes));
        raw.Extra.Add((200, 1, []));
        AssertCorrupt(raw.Encode().Bytes, "HEADER", 12, "section count 65");
    }

    [Fact]
    public void FileLargerThanTheLimit()
    {
        AssertCorrupt(Good, "HEADER", 0, "more than the limit", new EmaReadOptions { MaxFileBytes = Good.Length - 1 });
        ModelAssert.Equivalent(Small(), EmaReader.Read(Good, options: new EmaReadOptions { MaxFileBytes = Good.Length }));
    }

    [Fact]
    public void HeaderFields_AreWhereTheSpecSaysTheyAre()
    {
        Assert.Equal(new byte[] { 0x89, 0x45, 0x4D, 0x41, 0x0D, 0x0A, 0x1A, 0x0A }, Good[..8]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(Good.AsSpan(8)));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(Good.AsSpan(10)));
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32LittleEndian(Good.AsSpan(12)));
        Assert.Equal(64UL, BinaryPrimitives.ReadUInt64LittleEndian(Good.AsSpan(16)));
        Assert.Equal((ulong)Good.Length, BinaryPrimitives.ReadUInt64LittleEndian(Good.AsSpan(24)));
        Assert.Equal(0, Good.Length % 64);
        for (int s = 0; s < 4; s++)
        {
            var (kind, flags, off, _) = RawFile.Entry(Good, s);
            Assert.Equal((uint)(s + 1), kind);
            Assert.Equal(0u, flags);
            Assert.Equal(0, off % 64);
        }
    }
}
