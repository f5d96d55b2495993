using System.Runtime.InteropServices;
using EdgeMixedAccum.Runtime.Kernels;

namespace EdgeMixedAccum.Cli.Tests;

/// <summary>`ema selftest` and `ema doctor` through <see cref="CliApp.Run(string[], TextWriter, TextWriter)"/>:
/// on the runtime's own registry (whatever families it holds, possibly none) and on stand-in families
/// that pass, fail, throw or need an ISA this CPU lacks.</summary>
public sealed class KernelCliTests
{
    private static (int Code, string Out, string Err) Ema(IReadOnlyList<IKernelFamily>? families, params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        int code = families is null ? CliApp.Run(args, o, e) : CliApp.Run(args, o, e, families);
        return (code, o.ToString(), e.ToString());
    }

    private static string[] Lines(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>An ISA of the other architecture: never supported here.</summary>
    private static Isa Missing => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? Isa.Avx2 : Isa.Dp;
    /// <summary>A non-scalar ISA this CPU does support (both hosts this project targets have one).</summary>
    private static Isa Present => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? Isa.AdvSimd : Isa.Vector128;

    private sealed class FakeFamily(string name, (string Name, Isa Isa)[] variants, Func<string, bool>? passes = null,
        bool throwInSelfTest = false, bool omitResults = false) : IKernelFamily
    {
        public string Name => name;
        public IReadOnlyList<(string Name, Isa Isa)> Variants => variants;
        public string Selected(KernelOptions options) =>
            variants.Last(v => CpuFeatures.Has(v.Isa) && (!options.ForceGeneric || v.Isa == Isa.Scalar)).Name;
        public IEnumerable<SelfTestResult> SelfTest()
        {
            if (throwInSelfTest) throw new InvalidOperationException("golden vectors missing");
            if (omitResults) yield break;
            foreach (var (n, isa) in variants)
                if (CpuFeatures.Has(isa))
                {
                    bool ok = passes?.Invoke(n) ?? true;
                    yield return new SelfTestResult(name, n, isa, ok, ok ? "" : "max |err| 3.5 at [7] > 1e-6");
                }
        }
    }

    [Fact]
    public void SelftestOnTheRegistryPrintsOneLinePerVariantAndPasses()
    {
        var (code, stdout, stderr) = Ema(null, "selftest");
        Assert.True(code == 0, stdout + stderr);
        var lines = Lines(stdout);
        Assert.StartsWith("cpu ", lines[0]);
        Assert.Matches(@"^selftest: \d+ ok, 0 failed, \d+ skipped$", lines[^1]);
        if (KernelFamilies.All.Count == 0)
            Assert.Contains("no kernel families are registered", stdout);
        int variants = KernelFamilies.All.Sum(f => f.Variants.Count);
        var paths = lines.Where(l => l.StartsWith("path ")).ToList();
        Assert.True(paths.Count >= variants, stdout);
        foreach (var f in KernelFamilies.All)
            foreach (var (name, isa) in f.Variants)
                Assert.Contains(paths, l => l.StartsWith($"path {f.Name} {isa} {(CpuFeatures.Has(isa) ? "ok" : "skip")} [{name}]"));
    }

    [Fact]
    public void SelftestWithNoFamiliesSaysSoAndExitsZero()
    {
        var (code, stdout, _) = Ema([], "selftest");
        Assert.Equal(0, code);
        Assert.Contains("no kernel families are registered", stdout);
        Assert.Contains("selftest: 0 ok, 0 failed, 0 skipped", stdout);
    }

    [Fact]
    public void SelftestReportsOkAndSkipAndExitsZero()
    {
        var fam = new FakeFamily("f32-dot", [("f32-dot-scalar", Isa.Scalar), ("f32-dot-fast", Present), ("f32-dot-other", Missing)]);
        var (code, stdout, _) = Ema([fam], "selftest");
        Assert.Equal(0, code);
        var lines = Lines(stdout);
        Assert.Contains("path f32-dot Scalar ok [f32-dot-scalar]", lines);
        Assert.Contains($"path f32-dot {Present} ok [f32-dot-fast]", lines);
        Assert.Contains(lines, l => l.StartsWith($"path f32-dot {Missing} skip [f32-dot-other]"));
        Assert.Equal("selftest: 2 ok, 0 failed, 1 skipped", lines[^1]);
    }

    [Fact]
    public void AFailingVariantIsNamedWithItsDetailAndTheExitCodeIsOne()
    {
        var good = new FakeFamily("i8-gemv", [("i8-gemv-scalar", Isa.Scalar)]);
        var bad = new FakeFamily("f16-dot", [("f16-dot-scalar", Isa.Scalar), ("f16-dot-fast", Present)], passes: n => n != "f16-dot-fast");
        var (code, stdout, _) = Ema([good, bad], "selftest");
        Assert.Equal(1, code);
        var lines = Lines(stdout);
        Assert.Contains("path i8-gemv Scalar ok [i8-gemv-scalar]", lines);
        Assert.Contains("path f16-dot Scalar ok [f16-dot-scalar]", lines);
        Assert.Contains($"path f16-dot {Present} FAIL [f16-dot-fast] max |err| 3.5 at [7] > 1e-6", lines);
        Assert.Equal("selftest: 2 ok, 1 failed, 0 skipped", lines[^1]);
    }

    [Fact]
    public void AThrowingSelfTestOrAnUntestedSupportedVariantFails()
    {
        var throws = new FakeFamily("a", [("a-scalar", Isa.Scalar)], throwInSelfTest: true);
        var silent = new FakeFamily("b", [("b-scalar", Isa.Scalar)], omitResults: true);
        var (code, stdout, _) = Ema([throws, silent], "selftest");
        Assert.Equal(1, code);
        Assert.Contains("path a - FAIL self-test threw InvalidOperationException: golden vectors missing", stdout);
        Assert.Contains("path b Scalar FAIL [b-scalar] supported by this CPU but SelfTest() returned no result for it", stdout);
    }

    [Fact]
    public void DoctorReportsArchitectureFeaturesAndTheChosenVariants()
    {
        var fam = new FakeFamily("i8-gemv", [("i8-gemv-scalar", Isa.Scalar), ("i8-gemv-fast", Present), ("i8-gemv-other", Missing)]);
        var (code, stdout, stderr) = Ema([fam], "doctor");
        Assert.True(code == 0, stderr);
        var lines = Lines(stdout);
        Assert.Contains($"arch       {RuntimeInformation.ProcessArchitecture}", lines);
        Assert.Contains($"features   {CpuFeatures.Describe()}", lines);
        Assert.Contains(lines, l => l.StartsWith("isa        Scalar") && l.EndsWith(" yes"));
        Assert.Contains(lines, l => l.StartsWith($"isa        {Present}") && l.EndsWith(" yes"));
        Assert.DoesNotContain(lines, l => l.StartsWith($"isa        {Missing}") && l.EndsWith(" yes"));
        Assert.Contains(lines, l => l.StartsWith($"kernel     i8-gemv -> i8-gemv-fast ({Present})") && l.Contains("(i8-gemv-other)"));
    }

    [Fact]
    public void DoctorOnTheRegistryNamesEveryFamilysSelection()
    {
        var (code, stdout, stderr) = Ema(null, "doctor");
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains($"features   {CpuFeatures.Describe()}", stdout);
        if (KernelFamilies.All.Count == 0) Assert.Contains("kernels    none registered", stdout);
        foreach (var f in KernelFamilies.All)
            Assert.Contains($"kernel     {f.Name} -> {f.Selected(KernelOptions.Default)} (", stdout);
    }

    [Fact]
    public void DoctorFlagsAFamilyWithNoUsableVariant()
    {
        var fam = new FakeFamily("x", [("x-other", Missing)]);
        var (code, stdout, _) = Ema([fam], "doctor");
        Assert.Equal(1, code);
        Assert.Contains("kernel     x -> ERROR", stdout);
    }
}
