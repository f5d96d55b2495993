using EdgeMixedAccum.Format;
using static EdgeMixedAccum.Tests.Format.CorruptFiles;

namespace EdgeMixedAccum.Tests.Format;

/// <summary>Truncations at every offset and bit flips at every bit of a small file, sampled flips of larger ones.</summary>
public class TruncationAndFlipTests
{
    private static readonly string[] Names = ["META", "GRAPH", "TENSORS", "DATA"];

    /// <summary>Cutting the file anywhere is caught by the header (length), before any section is trusted.</summary>
    [Fact]
    public void Truncation_AtEveryOffset()
    {
        foreach (var model in new[] { Small(), Conv() })
        {
            var good = EmaWriter.ToBytes(model);
            for (int len = 0; len < good.Length; len++)
                AssertCorrupt(good[..len], "HEADER", len < 64 ? 0 : 24, len < 64 ? "shorter than" : "(truncated)");
        }
    }

    /// <summary>
    /// A section cut short while the header and table stay consistent (length and CRCs re-fixed): the reader must
    /// find the short section by bounds checks. Every length 0..len-1 of every section. DATA shorter than the end of
    /// its last blob is reported by TENSORS (whose entries point past it); cutting only DATA's trailing zero padding
    /// is still a valid file.
    /// </summary>
    [Fact]
    public void SectionTruncation_AtEveryLength_WithConsistentHeader()
    {
        foreach (var model in new[] { Small(), Conv() })
        {
            var good = EmaWriter.ToBytes(model);
            var raw = RawFile.From(model);
            long lastBlobEnd = raw.Tensors.Max(t => Math.Max((long)(t.DataOff + t.DataLen),
                Math.Max((long)(t.ScalesOff + 4 * t.ScaleCount), (long)(t.L2Off + 4 * t.RowCount))));
            for (int s = 0; s < 4; s++)
            {
                var (_, _, off, len) = RawFile.Entry(good, s);
                for (long cut = 0; cut < len; cut++)
                {
                    var f = (byte[])good.Clone();
                    RawFile.SetU64(f, 64 + 32 * s + 16, (ulong)cut);
                    RawFile.FixCrcs(f);
                    if (s == 3 && cut >= lastBlobEnd)
                    {
                        ModelAssert.Equivalent(model, EmaReader.Read(f));
                        continue;
                    }
                    var e = AssertCorrupt(f, s == 3 ? "TENSORS" : Names[s], null);
                    if (s != 3) Assert.InRange(e.Offset, off, off + cut);
                }
            }
        }
    }

    /// <summary>Trailing bytes after the last field of META, GRAPH or TENSORS are rejected at their offset.</summary>
    [Fact]
    public void SectionWithTrailingBytes()
    {
        var model = Conv();
        var enc = RawFile.From(model).Encode();
        string[] ends = ["META.end", "GRAPH.end", "TENSORS.end"];
        for (int s = 0; s < 3; s++)
        {
            var f = (byte[])enc.Bytes.Clone();
            var (_, _, off, len) = RawFile.Entry(f, s);
            Assert.True((off + len) % 64 != 0, "test needs padding after the section");
            RawFile.SetU64(f, 64 + 32 * s + 16, (ulong)len + 1);
            RawFile.FixCrcs(f);
            AssertCorrupt(f, Names[s], enc[ends[s]], "trailing");
        }
    }

    /// <summary>
    /// Every single-bit flip of a small file. All header, table and section bytes are protected (magic, version,
    /// header CRC, reserved bytes, table CRC, section CRCs), so a flip there is an <see cref="EmaFormatException"/>
    /// at a predictable place. The zero padding between sections is not covered by any CRC and the reader does
    /// not check it: a flip there is accepted and the model read is unchanged (re-writing restores the zeros).
    /// </summary>
    [Fact]
    public void EveryBitFlip_OfASmallFile()
    {
        var model = Small();
        var good = EmaWriter.ToBytes(model);
        var free = Unprotected(good);
        Assert.Contains(true, free); // the test must see padding to be meaningful
        int accepted = 0;
        for (int i = 0; i < good.Length; i++)
        {
            for (int bit = 0; bit < 8; bit++)
            {
                var f = (byte[])good.Clone();
                f[i] ^= (byte)(1 << bit);
                if (free[i])
                {
                    var read = EmaReader.Read(f);
                    ModelAssert.Equivalent(model, read);
                    Assert.Equal(good, EmaWriter.ToBytes(read));
                    accepted++;
                    continue;
                }
                var (section, offset) = ExpectedForFlip(good, i, bit);
                AssertCorrupt(f, section, offset);
            }
        }
        Assert.Equal(8 * free.Count(x => x), accepted);
    }

    /// <summary>Where a flip of bit <paramref name="bit"/> at byte <paramref name="i"/> of a good file is reported.</summary>
    private static (string Section, long Offset) ExpectedForFlip(byte[] good, int i, int bit)
    {
        if (i < 8) return ("HEADER", 0);                           // magic
        if (i < 10) return ("HEADER", 8);                          // major version
        if (i < 40) return ("HEADER", 36);                         // header CRC (covers 0..35, or is the CRC)
        if (i < 64) return ("HEADER", i);                          // reserved
        int count = RawFile.SectionCount(good);
        if (i < 64 + 32 * count) return ("TABLE", 64);             // table CRC
        for (int s = 0; s < count; s++)
        {
            var (_, _, off, len) = RawFile.Entry(good, s);
            if (i >= off && i < off + len) return (Names[s], off); // section CRC
        }
        throw new InvalidOperationException($"byte {i} is padding");
    }

    /// <summary>A sample of bit flips over random models (larger files than above), with the same expectations.</summary>
    [Fact]
    public void SampledBitFlips_OfRandomModels()
    {
        var rng = new Random(1234);
        for (int seed = 0; seed < 60; seed++)
        {
            var model = RandomModels.Generate(seed);
            var good = EmaWriter.ToBytes(model);
            var free = Unprotected(good);
            for (int k = 0; k < 25; k++)
            {
                int i = rng.Next(good.Length), bit = rng.Next(8);
                var f = (byte[])good.Clone();
                f[i] ^= (byte)(1 << bit);
                if (free[i]) { ModelAssert.Equivalent(model, EmaReader.Read(f)); continue; }
                var (section, offset) = ExpectedForFlip(good, i, bit);
                AssertCorrupt(f, section, offset);
            }
        }
    }

    /// <summary>
    /// Mutations with the CRCs re-fixed, so they reach the parsers and semantic checks: random bytes, bit flips,
    /// and 0x00/0xFF runs (inflated counts and lengths) inside META, GRAPH and TENSORS, and DATA. The reader must
    /// either reject the file with <see cref="EmaFormatException"/> or return a model that is valid: one the writer
    /// accepts and that reads back the same.
    /// </summary>
    [Fact]
    public void CrcFixedMutations_NeverEscapeAsOtherExceptions()
    {
        var rng = new Random(99);
        int rejected = 0, acceptedCount = 0;
        for (int seed = 0; seed < 120; seed++)
        {
            var model = seed == 0 ? Small() : seed == 1 ? Conv() : RandomModels.Generate(seed);
            var good = EmaWriter.ToBytes(model);
            for (int k = 0; k < 30; k++)
            {
                var f = (byte[])good.Clone();
                int s = rng.Next(4);
                var (_, _, off, len) = RawFile.Entry(f, s);
                if (len == 0) continue;
                int edits = rng.Next(1, 4);
                for (int e = 0; e < edits; e++)
                {
                    int at = (int)off + rng.Next((int)len);
                    switch (rng.Next(4))
                    {
                        case 0: f[at] = (byte)rng.Next(256); break;
                        case 1: f[at] ^= (byte)(1 << rng.Next(8)); break;
                        case 2: for (int j = at; j < Math.Min(at + 4, off + len); j++) f[j] = 0xFF; break;
                        default: for (int j = at; j < Math.Min(at + 4, off + len); j++) f[j] = 0; break;
                    }
                }
                RawFile.FixCrcs(f);
                EmaModel read;
                try { read = EmaReader.Read(f, FileName); }
                catch (EmaFormatException fe)
                {
                    Assert.Contains($"section {fe.Section} at byte {fe.Offset}", fe.Message);
                    Assert.InRange(fe.Offset, 0, f.Length);
                    rejected++;
                    continue;
                }
                catch (Exception other)
                {
                    Assert.Fail($"seed {seed}, mutation {k} in section {Names[s]}: {other.GetType().Name} escaped: {other.Message}\n{other.StackTrace}");
                    throw;
                }
                acceptedCount++;
                var again = EmaWriter.ToBytes(read);
                ModelAssert.Equivalent(read, EmaReader.Read(again));
            }
        }
        Assert.True(rejected > 1000 && acceptedCount > 100, $"rejected {rejected}, accepted {acceptedCount}");
    }

    private static readonly uint[] Interesting =
    [
        0, 1, 2, 3, 7, 8, 9, 63, 64, 65, 255, 256, 65535, 65536, 65537, 131072, 1u << 30, 1u << 31, int.MaxValue,
        uint.MaxValue, uint.MaxValue - 1, 0xFFFFFF80, 0x7F800000 /* +inf */, 0x7FC00000 /* NaN */, 0xFF800000 /* -inf */, 0x80000000,
    ];

    /// <summary>
    /// Like <see cref="CrcFixedMutations_NeverEscapeAsOtherExceptions"/>, but aimed at fields: a 4-byte "interesting"
    /// value (0, -1, limits, 2^30, 2^31 - 1, NaN, infinities...) written at or just after a field the encoder
    /// recorded (counts, ids, dims, attribute values, layer blocks, offsets), CRCs re-fixed.
    /// </summary>
    [Fact]
    public void FieldTargetedMutations_NeverEscapeAsOtherExceptions()
    {
        var rng = new Random(4242);
        int rejected = 0, accepted = 0;
        for (int seed = 0; seed < 100; seed++)
        {
            var model = seed == 0 ? Small() : seed == 1 ? Conv() : RandomModels.Generate(seed);
            var enc = RawFile.From(model).Encode();
            var keys = enc.At.Where(kv => kv.Key.Contains('.') && !kv.Key.StartsWith("TABLE.", StringComparison.Ordinal)).Select(kv => kv.Value).ToArray();
            for (int k = 0; k < 60; k++)
            {
                var f = (byte[])enc.Bytes.Clone();
                for (int edits = rng.Next(1, 3); edits > 0; edits--)
                {
                    // Fields and the 4-byte words that follow them (attribute values, dims, layer block floats).
                    long at = keys[rng.Next(keys.Length)] + 4 * (rng.Next(3) == 0 ? 0 : rng.Next(0, 8));
                    if (at + 4 > f.Length) continue;
                    uint v = rng.Next(4) == 0 ? (uint)rng.Next(-8, 9) : Interesting[rng.Next(Interesting.Length)];
                    RawFile.SetU32(f, at, v);
                }
                RawFile.FixCrcs(f);
                EmaModel read;
                try { read = EmaReader.Read(f, FileName); }
                catch (EmaFormatException fe)
                {
                    Assert.Contains($"section {fe.Section} at byte {fe.Offset}", fe.Message);
                    rejected++;
                    continue;
                }
                catch (Exception other)
                {
                    Assert.Fail($"seed {seed}, mutation {k}: {other.GetType().Name} escaped: {other.Message}\n{other.StackTrace}");
                    throw;
                }
                accepted++;
                ModelAssert.Equivalent(read, EmaReader.Read(EmaWriter.ToBytes(read)));
            }
        }
        Assert.True(rejected > 3000 && accepted > 50, $"rejected {rejected}, accepted {accepted}");
    }
}
