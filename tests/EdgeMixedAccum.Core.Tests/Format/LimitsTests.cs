using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using static EdgeMixedAccum.Tests.Format.CorruptFiles;

namespace EdgeMixedAccum.Tests.Format;

/// <summary>
/// Each limit of <see cref="Limits"/> the .ema reader enforces rejects a file that breaks it with an
/// <see cref="EmaFormatException"/> naming the limit, the section, the item and the byte offset, before it allocates
/// anything of the declared size (AssertCorrupt also bounds time and allocation).
/// </summary>
public class LimitsTests
{
    private static byte[] Encode(RawFile raw)
    {
        var b = raw.Encode().Bytes;
        RawFile.FixCrcs(b);
        return b;
    }

    [Fact]
    public void LimitsAreTheReadersLimits()
    {
        Assert.Equal(Limits.MaxFileBytes, EmaReader.MaxFileBytes);
        Assert.Equal(Limits.MaxFileBytes, new EmaReadOptions().MaxFileBytes);
        Assert.Equal(Limits.MaxGraphNodes, ModelGraph.MaxNodes);
        Assert.Equal(Limits.MaxStringBytes, SectionReader.MaxString);
        Assert.True(Limits.MaxTensorElements <= Shapes.MaxElements && Limits.MaxTensorElements <= Limits.MaxActivationElements);
    }

    [Fact]
    public void TensorOverTheElementLimit_IsRejectedBeforeItsDataIsLookedAt()
    {
        var raw = RawFile.From(Small());
        raw.Tensors[0].Shape = [1 << 14, 1 << 13]; // 2^27 elements; the data length still says 12 bytes
        var e = AssertCorrupt(Encode(raw), "TENSORS", null, "MaxTensorElements");
        Assert.Contains("tensor 0 'w1'", e.Message);
        Assert.Contains($"more than {Limits.MaxTensorElements} elements", e.Message);
    }

    [Fact]
    public void ValueOverTheElementLimit_NamesTheValueAndItsShapeField()
    {
        var raw = RawFile.From(Small());
        raw.Values[0].Shape = [Shapes.Batch, 1 << 27];
        var enc = raw.Encode();
        var b = enc.Bytes; RawFile.FixCrcs(b);
        var e = AssertCorrupt(b, "GRAPH", enc["GRAPH.value[0].shape"], "MaxTensorElements");
        Assert.Contains("value 0 'x'", e.Message);
    }

    [Fact]
    public void ActivationsOverTheTotalLimit_AreRejected_EvenWhenEachValueIsWithinItsOwn()
    {
        var raw = RawFile.From(Small());
        var activations = raw.Values.Select((v, i) => (v, i)).Where(p => p.v.Constant < 0).ToList();
        Assert.True(activations.Count >= 5);
        long each = Limits.MaxTensorElements / 2 + 1; // 5 of these pass 2^27 at the fourth or fifth
        foreach (var (v, _) in activations) v.Shape = [Shapes.Batch, (int)each];
        var enc = raw.Encode();
        var b = enc.Bytes; RawFile.FixCrcs(b);
        int crossing = activations[(int)(Limits.MaxActivationElements / each)].i;
        var e = AssertCorrupt(b, "GRAPH", enc[$"GRAPH.value[{crossing}].shape"], "MaxActivationElements");
        Assert.Contains($"value {crossing} '{raw.Values[crossing].Name}'", e.Message);
    }

    [Fact]
    public void NodeCountOverTheGraphLimit_IsRejectedAtTheCount()
    {
        var enc = RawFile.From(Small()).Encode();
        var b = enc.Bytes;
        RawFile.SetU32(b, enc["GRAPH.nodes"], Limits.MaxGraphNodes + 1);
        RawFile.FixCrcs(b);
        AssertCorrupt(b, "GRAPH", enc["GRAPH.nodes"], $"node count {Limits.MaxGraphNodes + 1} exceeds the limit {Limits.MaxGraphNodes}");
    }

    [Fact]
    public void FileOverTheSizeLimit_IsRejectedBeforeItIsRead()
    {
        // A sparse file one byte past the limit: no disk space is used, and the reader must not read it.
        string path = Path.Combine(Path.GetTempPath(), $"ema-limit-{Guid.NewGuid():N}.ema");
        try
        {
            using (var fs = new FileStream(path, FileMode.CreateNew)) fs.SetLength(Limits.MaxFileBytes + 1);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<EmaFormatException>(() => EmaReader.Read(path));
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
            Assert.Equal("HEADER", e.Section);
            Assert.Contains($"file is {Limits.MaxFileBytes + 1} bytes, more than the limit {Limits.MaxFileBytes}", e.Message);
            Assert.Contains(path, e.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void CheckElements_CountsTheBatchAsOne_AndNeverOverflows()
    {
        Assert.Equal(12, Limits.CheckElements([Shapes.Batch, 3, 4], "v"));
        Assert.Equal(Limits.MaxTensorElements, Limits.CheckElements([1 << 13, 1 << 13], "v"));
        var e = Assert.Throws<EmaException>(() => Limits.CheckElements([int.MaxValue, int.MaxValue, int.MaxValue, int.MaxValue], "value 'big'"));
        Assert.Contains("value 'big'", e.Message);
        Assert.Contains("Limits.MaxTensorElements", e.Message);
        Assert.Throws<EmaException>(() => Limits.CheckElements([2, -5], "v"));
    }
}
