using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Boards;

/// <summary>Selection: which plan a board runs, which CPU features that plan relies on, and what to do when the
/// running CPU lacks one. Detection is <see cref="CpuInfo"/>; the board data is <see cref="BoardProfile"/>.</summary>
public static class BoardPolicy
{
    /// <summary>The features a low precision needs on a board to run at its full speed: f16acc needs FEAT_FP16
    /// (`asimdhp`; without it fp16 accumulation is emulated); int8 uses SDOT (`asimddp`) where the board has it.</summary>
    public static IReadOnlyList<string> RequiredFeatures(Precision low, BoardProfile board) => low switch
    {
        Precision.F16Acc when board.Arch == "arm64" => ["asimdhp"],
        Precision.I8 when board.Features.Contains("asimddp") => ["asimddp"],
        _ => [],
    };

    /// <summary>The target written into a model converted for the board with this low precision.</summary>
    public static ModelTarget Target(BoardProfile board, Precision low) => new(board.Name, RequiredFeatures(low, board));

    /// <summary>The target's features the running CPU lacks (empty when it has them all, or the model has no target).</summary>
    public static IReadOnlyList<string> Missing(ModelTarget? target, IReadOnlySet<string> cpu) =>
        target is null ? [] : target.Features.Where(f => !cpu.Contains(f)).ToArray();

    /// <summary>
    /// What a session does on a mismatch: a warning naming the board, the missing features and the fallback; and the
    /// low precision to use instead (null: keep the plan). Without FEAT_FP16 an f16acc plan would be emulated, tens of
    /// times slower than fp32, so it falls back to int8; without SDOT the int8 kernels fall back to SMLAL by themselves.
    /// </summary>
    public static (string? Warning, Precision? Low) Fallback(ModelTarget? target, IReadOnlySet<string> cpu, bool plansF16)
    {
        var missing = Missing(target, cpu);
        if (missing.Count == 0) return (null, null);
        string lacks = $"model was converted for '{target!.Board}', which has {string.Join(", ", missing)}; this CPU does not";
        if (missing.Contains("asimdhp") && plansF16)
            return ($"{lacks}: running its fp16-accumulation layers in int8 instead (fp16 accumulation would be emulated)", Precision.I8);
        if (missing.Contains("asimddp"))
            return ($"{lacks}: int8 runs on the SMLAL kernels instead of SDOT (about half the speed)", null);
        return ($"{lacks}: running on the kernels this CPU has", null);
    }
}
