using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Boards;
using EdgeMixedAccum.Runtime.Engine;
using EdgeMixedAccum.Runtime.Tests.Engine;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Runtime.Tests.Boards;

/// <summary>Board data (boards/NAME/board.json), detection (CpuInfo) and policy (BoardPolicy), each on its own.</summary>
public class BoardTests
{
    private static string BoardsDir => Path.Combine(TestPaths.Root, "boards");

    private static readonly string[] All = ["rpi4", "rpi5", "jetson-nano", "jetson-orin", "linux-x64"];

    public static TheoryData<string> Names => new(All);

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryBoardProfileLoadsAndPointsAtFilesThatExist(string name)
    {
        var b = BoardProfile.Find(name, BoardsDir);
        Assert.Equal(name, b.Name);
        Assert.True(File.Exists(Path.Combine(TestPaths.Root, "publish-profiles", b.PublishProfile + ".pubxml")), b.PublishProfile);
        Assert.True(File.Exists(Path.Combine(BoardsDir, name, "README.md")));
        Assert.InRange(b.Threads, 1, 64);
        if (b.Arch == "arm64")
        {
            Assert.NotNull(b.QemuCpu);
            Assert.Contains(b.QemuCpu, File.ReadAllText(Path.Combine(TestPaths.Root, "tests", "arm64", "run-qemu.sh")));
            Assert.Contains("asimd", b.Features);
        }
        // The plan's precision runs natively on the board (no emulated fp16 accumulation as a default).
        Assert.NotNull(b.CostRatios[b.Low]);
    }

    [Fact]
    public void EveryBoardFolderIsListedAndAnUnknownNameListsThem()
    {
        Assert.Equal(All.Order(StringComparer.Ordinal), BoardProfile.Names(BoardsDir));
        var e = Assert.Throws<EmaException>(() => BoardProfile.Find("rpi9", BoardsDir));
        Assert.Contains("rpi5", e.Message);
        Assert.Throws<EmaException>(() => BoardProfile.Find("../rpi5", BoardsDir));
    }

    [Fact]
    public void ABadProfileNamesTheFileAndTheField()
    {
        var dir = Directory.CreateTempSubdirectory("ema-board").FullName;
        try
        {
            var path = Path.Combine(dir, "board.json");
            File.WriteAllText(path, File.ReadAllText(Path.Combine(BoardsDir, "rpi5", "board.json")).Replace("\"i8\"", "\"i4\""));
            var e = Assert.Throws<EmaException>(() => BoardProfile.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("i4", e.Message);
            File.WriteAllText(path, "{ not json");
            Assert.Contains(path, Assert.Throws<EmaException>(() => BoardProfile.Load(path)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void CpuinfoFeaturesAreReadFromTheFirstFeaturesOrFlagsLine()
    {
        const string a76 = "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\n\nprocessor\t: 1\nFeatures\t: fp\n";
        var f = CpuInfo.Parse(a76);
        Assert.Contains("asimddp", f);
        Assert.Contains("asimdhp", f);
        Assert.DoesNotContain("evtstrm ", f);
        var x64 = CpuInfo.Parse("processor : 0\nflags\t\t: fpu vme avx2 avx512bw avx_vnni\n");
        Assert.Contains("avx2", x64);
        Assert.Empty(CpuInfo.Parse("nothing here"));
        Assert.NotNull(CpuInfo.Features); // this machine: whatever it has, never a failure
    }

    [Fact]
    public void ThePolicyNamesTheFeaturesEachPlanNeedsOnEachBoard()
    {
        var rpi4 = BoardProfile.Find("rpi4", BoardsDir);
        var rpi5 = BoardProfile.Find("rpi5", BoardsDir);
        Assert.Equal(["asimddp"], BoardPolicy.RequiredFeatures(Precision.I8, rpi5));
        Assert.Equal(["asimdhp"], BoardPolicy.RequiredFeatures(Precision.F16Acc, rpi5));
        Assert.Empty(BoardPolicy.RequiredFeatures(Precision.I8, rpi4)); // SMLAL: plain ARMv8
        var pi4 = CpuInfo.Parse("Features\t: fp asimd evtstrm crc32 cpuid\n");
        var pi5 = CpuInfo.Parse("Features\t: fp asimd crc32 fphp asimdhp asimddp lrcpc\n");
        Assert.Empty(BoardPolicy.Missing(BoardPolicy.Target(rpi5, Precision.I8), pi5));
        Assert.Equal(["asimddp"], BoardPolicy.Missing(BoardPolicy.Target(rpi5, Precision.I8), pi4));
        Assert.Empty(BoardPolicy.Missing(null, pi4));

        var (warn, low) = BoardPolicy.Fallback(BoardPolicy.Target(rpi5, Precision.I8), pi4, plansF16: false);
        Assert.Contains("rpi5", warn);
        Assert.Contains("SMLAL", warn);
        Assert.Null(low);
        (warn, low) = BoardPolicy.Fallback(BoardPolicy.Target(rpi5, Precision.F16Acc), pi4, plansF16: true);
        Assert.Contains("asimdhp", warn);
        Assert.Equal(Precision.I8, low);
        Assert.Equal((null, null), BoardPolicy.Fallback(BoardPolicy.Target(rpi5, Precision.F16Acc), pi5, plansF16: true));
    }

    [Fact]
    public void ASessionOnACpuWithoutTheBoardsFp16WarnsAndRunsInt8Instead()
    {
        var m = SessionTests.Mlp(3, Precision.F16Acc, TensorDType.Float16, new Activation(ActivationKind.Tanh));
        m.Metadata.Target = new ModelTarget("rpi5", ["asimdhp"]);
        var pi4 = CpuInfo.Parse("Features\t: fp asimd crc32\n");
        var x = SessionTests.Inputs(4, 37);
        var y = new float[7];
        using (var s = new Session(m, new SessionOptions { CpuFeatures = pi4 }))
        {
            Assert.Contains(s.Warnings, w => w.Contains("rpi5", StringComparison.Ordinal) && w.Contains("int8", StringComparison.Ordinal));
            s.Run(x, y);
            Assert.All(s.LastReport.Layers.Where(l => l.Precision != Precision.F32), l => Assert.Equal(Precision.I8, l.Precision));
        }
        // The same model on a CPU that has the feature keeps its plan and says nothing.
        using (var s = new Session(m, new SessionOptions { CpuFeatures = CpuInfo.Parse("Features\t: fp asimd asimdhp\n") }))
        {
            Assert.Empty(s.Warnings);
            s.Run(x, y);
            Assert.Contains(s.LastReport.Layers, l => l.Precision == Precision.F16Acc);
        }
    }
}
