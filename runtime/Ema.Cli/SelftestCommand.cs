using System.CommandLine;
using EdgeMixedAccum.Runtime.Kernels;

namespace EdgeMixedAccum.Cli;

/// <summary>
/// `ema selftest`: every registered kernel family runs its golden vectors on every variant this CPU
/// supports. One line per variant: `path FAMILY ISA ok [VARIANT]`, `path FAMILY ISA FAIL [VARIANT] DETAIL`
/// or `path FAMILY ISA skip [VARIANT] ...` for a variant this CPU (or its build) cannot run; then one
/// summary line. Exit code 1 when any variant fails, 0 otherwise (also when no family is registered).
/// </summary>
internal static class SelftestCommand
{
    public const int ExitFailed = 1;

    public static Command Create(TextWriter stdout, IReadOnlyList<IKernelFamily> families)
    {
        var cmd = new Command("selftest", "Run every kernel family's golden vectors on every variant this CPU supports");
        cmd.SetAction(_ => Execute(families, stdout));
        return cmd;
    }

    public static int Execute(IReadOnlyList<IKernelFamily> families, TextWriter o)
    {
        o.WriteLine($"cpu {CpuFeatures.Describe()}");
        if (families.Count == 0)
        {
            o.WriteLine("note: no kernel families are registered in this build (KernelFamilies.All is empty); nothing to test");
            o.WriteLine("selftest: 0 ok, 0 failed, 0 skipped");
            return 0;
        }
        int ok = 0, failed = 0, skipped = 0;
        foreach (var family in families)
        {
            string name;
            try { name = family.Name; }
            catch (Exception e) { name = family.GetType().Name; o.WriteLine($"path {name} - FAIL Name threw {Short(e)}"); failed++; continue; }

            List<SelfTestResult> results;
            IReadOnlyList<(string Name, Isa Isa)> variants;
            try
            {
                variants = family.Variants;
                results = family.SelfTest().ToList();
            }
            catch (Exception e)
            {
                o.WriteLine($"path {name} - FAIL self-test threw {Short(e)}");
                failed++;
                continue;
            }

            // One line per declared variant, in the family's order (baseline first).
            var seen = new HashSet<string>();
            foreach (var (variant, isa) in variants)
            {
                seen.Add(variant);
                var mine = results.Where(r => r.Variant == variant).ToList();
                if (mine.Count == 0)
                {
                    if (!CpuFeatures.Has(isa)) { o.WriteLine($"path {name} {isa} skip [{variant}] {isa} not supported by this CPU"); skipped++; }
                    else { o.WriteLine($"path {name} {isa} FAIL [{variant}] supported by this CPU but SelfTest() returned no result for it"); failed++; }
                    continue;
                }
                Report(o, name, isa, variant, mine, ref ok, ref failed);
            }
            // Results for variants the family does not declare are still reported, never dropped.
            foreach (var extra in results.Where(r => !seen.Contains(r.Variant)).GroupBy(r => (r.Variant, r.Isa)))
                Report(o, name, extra.Key.Isa, extra.Key.Variant, extra.ToList(), ref ok, ref failed);
        }
        o.WriteLine($"selftest: {ok} ok, {failed} failed, {skipped} skipped");
        return failed > 0 ? ExitFailed : 0;
    }

    private static void Report(TextWriter o, string family, Isa isa, string variant, List<SelfTestResult> rs, ref int ok, ref int failed)
    {
        var bad = rs.Where(r => !r.Ok).ToList();
        if (bad.Count == 0)
        {
            o.WriteLine($"path {family} {isa} ok [{variant}]");
            ok++;
            return;
        }
        string detail = string.Join("; ", bad.Select(r => string.IsNullOrWhiteSpace(r.Detail) ? "failed" : r.Detail.ReplaceLineEndings(" ")).Take(3));
        if (bad.Count > 3) detail += $"; ... ({bad.Count} failures)";
        o.WriteLine($"path {family} {isa} FAIL [{variant}] {detail}");
        failed++;
    }

    private static string Short(Exception e) => $"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}";
}
