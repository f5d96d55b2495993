using System.Runtime.InteropServices;
using EdgeMixedAccum.Runtime.Kernels;

namespace EdgeMixedAccum.Runtime.Boards;

/// <summary>Detection: the running CPU's feature names, as Linux's /proc/cpuinfo spells them. Policy lives in <see cref="BoardPolicy"/>.</summary>
public static class CpuInfo
{
    private static readonly Lazy<IReadOnlySet<string>> Current = new(Detect);

    /// <summary>Features of this CPU: the `Features` (ARM) or `flags` (x86) line of /proc/cpuinfo, plus the ISA levels
    /// .NET reports (so a missing or unreadable /proc still yields what the kernels can use).</summary>
    public static IReadOnlySet<string> Features => Current.Value;

    private static IReadOnlySet<string> Detect()
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo")) set.UnionWith(Parse(File.ReadAllText("/proc/cpuinfo")));
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        if (RuntimeInformation.ProcessArchitecture == Architecture.Arm64)
        {
            if (CpuFeatures.Has(Isa.AdvSimd)) set.Add("asimd");
            if (CpuFeatures.Has(Isa.Dp)) set.Add("asimddp");
            if (CpuFeatures.Has(Isa.Fp16Native)) set.Add("asimdhp");
        }
        return set;
    }

    /// <summary>The first `Features` or `flags` line of a /proc/cpuinfo text, split on white space.</summary>
    public static IReadOnlySet<string> Parse(string cpuinfo)
    {
        foreach (var line in cpuinfo.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            var key = line[..colon].Trim();
            if (key is "Features" or "flags")
                return new HashSet<string>(line[(colon + 1)..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
        }
        return new HashSet<string>();
    }
}
