using System.CommandLine;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeMixedAccum.Runtime.Kernels;

namespace EdgeMixedAccum.Cli;

/// <summary>
/// `ema doctor`: what this binary sees on this machine: the CPU architecture, every ISA level present
/// (`features` is <see cref="CpuFeatures.Describe"/>; one `isa NAME yes|no` line each), how the binary
/// was built, the levels the CPU has that the binary cannot use (`unused`, only when there are some: an
/// x86-64 NativeAOT build on an AVX2 CPU), and per kernel family the variant a session would choose.
/// Exit code 1 when a family has no usable variant.
/// </summary>
internal static class DoctorCommand
{
    public static Command Create(TextWriter stdout, IReadOnlyList<IKernelFamily> families)
    {
        var cmd = new Command("doctor", "Show the CPU features this binary detects and the kernel variant chosen per family");
        cmd.SetAction(_ => Execute(families, stdout));
        return cmd;
    }

    public static int Execute(IReadOnlyList<IKernelFamily> families, TextWriter o)
    {
        var asm = typeof(DoctorCommand).Assembly;
        string version = asm.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
        string profile = Metadata(asm, "EmaPublishProfile");
        string isaSet = Metadata(asm, "EmaIlcInstructionSet");
        o.WriteLine($"ema        {version}");
        o.WriteLine($"build      {(RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "NativeAOT")}, {RuntimeInformation.RuntimeIdentifier}, profile {(profile == "" ? "(none)" : profile)}, instruction set {(isaSet == "" ? "(default)" : isaSet)}");
        o.WriteLine($"os         {RuntimeInformation.OSDescription}");
        o.WriteLine($"arch       {RuntimeInformation.ProcessArchitecture}");
        o.WriteLine($"cores      {Environment.ProcessorCount}");
        o.WriteLine($"features   {CpuFeatures.Describe()}");
        foreach (var isa in Enum.GetValues<Isa>())
            if (Relevant(isa)) o.WriteLine($"isa        {isa,-11} {(CpuFeatures.Has(isa) ? "yes" : "no")}");
        if (CpuFeatures.UnusedAdvice() is { } advice) o.WriteLine($"unused     {advice}");

        if (families.Count == 0)
        {
            o.WriteLine("kernels    none registered in this build (KernelFamilies.All is empty)");
            return 0;
        }
        int status = 0;
        foreach (var f in families)
        {
            string name = "?";
            try
            {
                name = f.Name;
                string chosen = f.Selected(KernelOptions.Default);
                var isa = f.Variants.Where(v => v.Name == chosen).Select(v => v.Isa.ToString()).FirstOrDefault() ?? "?";
                var all = string.Join(" ", f.Variants.Select(v => CpuFeatures.Has(v.Isa) ? v.Name : $"({v.Name})"));
                o.WriteLine($"kernel     {name} -> {chosen} ({isa})  variants: {all}");
            }
            catch (Exception e)
            {
                o.WriteLine($"kernel     {name} -> ERROR {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
                status = 1;
            }
        }
        return status;
    }

    /// <summary>ISA levels of this process's architecture (x86 levels on ARM64 only add noise, and vice versa).</summary>
    private static bool Relevant(Isa isa) => isa switch
    {
        Isa.Scalar or Isa.Vector128 => true,
        Isa.Avx2 or Isa.AvxVnni or Isa.Avx512BW or Isa.Avx512Vnni => RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86,
        _ => RuntimeInformation.ProcessArchitecture is Architecture.Arm64,
    };

    private static string Metadata(Assembly asm, string key) =>
        asm.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value ?? "";
}
