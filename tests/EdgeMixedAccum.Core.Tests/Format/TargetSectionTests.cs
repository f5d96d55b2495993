using EdgeMixedAccum.Format;

namespace EdgeMixedAccum.Tests.Format;

/// <summary>The optional TARGET section (ema-format.md): written only for a board, read back, and checked like the others.</summary>
public class TargetSectionTests
{
    private static EmaModel WithTarget(ModelTarget? t)
    {
        var m = CorruptFiles.Small();
        m.Metadata.Target = t;
        return m;
    }

    [Fact]
    public void ABoardTargetRoundTripsAsAnOptionalFifthSection()
    {
        var bytes = EmaWriter.ToBytes(WithTarget(new ModelTarget("rpi5", ["asimddp", "asimdhp"])));
        Assert.Equal(5, RawFile.SectionCount(bytes));
        var (kind, flags, _, _) = RawFile.Entry(bytes, 4);
        Assert.Equal(5u, kind);
        Assert.Equal(1u, flags); // optional: readers that predate it skip it
        var read = EmaReader.Read(bytes, "t.ema");
        Assert.Equal("rpi5", read.Metadata.Target!.Board);
        Assert.Equal(["asimddp", "asimdhp"], read.Metadata.Target.Features);
        Assert.Equal(bytes, EmaWriter.ToBytes(read));
    }

    [Fact]
    public void AModelWithoutABoardHasNoTargetSectionAndItsBytesAreUnchanged()
    {
        var plain = EmaWriter.ToBytes(WithTarget(null));
        Assert.Equal(4, RawFile.SectionCount(plain));
        Assert.Null(EmaReader.Read(plain).Metadata.Target);
        // An empty feature list is still a target (a board whose plan needs nothing special).
        Assert.Empty(EmaReader.Read(EmaWriter.ToBytes(WithTarget(new ModelTarget("rpi4", [])))).Metadata.Target!.Features);
    }

    [Fact]
    public void ACorruptTargetIsATypedErrorNamingTheSection()
    {
        var bytes = EmaWriter.ToBytes(WithTarget(new ModelTarget("rpi5", ["asimddp"])));
        var (_, _, off, _) = RawFile.Entry(bytes, 4);
        // The feature count sits after the board name (u32 length + 4 bytes): inflate it past the limit.
        RawFile.SetU32(bytes, off + 4 + 4, 1_000_000);
        RawFile.FixCrcs(bytes);
        var e = Assert.Throws<EmaFormatException>(() => EmaReader.Read(bytes, "t.ema"));
        Assert.Contains("TARGET", e.Message);

        var empty = EmaWriter.ToBytes(WithTarget(new ModelTarget("rpi5", [])));
        (_, _, off, _) = RawFile.Entry(empty, 4);
        RawFile.SetU32(empty, off, 0); // empty board name
        RawFile.FixCrcs(empty);
        Assert.Contains("board name", Assert.Throws<EmaFormatException>(() => EmaReader.Read(empty)).Message);
        Assert.Throws<EmaException>(() => EmaWriter.ToBytes(WithTarget(new ModelTarget("", []))));
    }
}
