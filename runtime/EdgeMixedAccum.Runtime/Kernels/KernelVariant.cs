namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>One implementation of a kernel family for one ISA.</summary>
/// <param name="Name">As in the file name: dtype, op, tile, ISA (e.g. "i8-gemv-8x16-dp").</param>
public sealed record KernelVariant<TFn>(string Name, Isa Isa, TFn Fn) where TFn : Delegate
{
    public bool Supported => CpuFeatures.Has(Isa);
}

/// <summary>Session-wide kernel selection options.</summary>
public sealed record KernelOptions
{
    /// <summary>Use only the scalar reference variants (a switch to rule the SIMD paths out).</summary>
    public bool ForceGeneric { get; init; }
    /// <summary>When set, variants whose ISA is not in it are skipped (e.g. a board profile's feature list).</summary>
    public IReadOnlySet<Isa>? Allowed { get; init; }

    public static readonly KernelOptions Default = new();
}

/// <summary>Chooses a variant once, at session creation: the last supported entry of the family's list,
/// which is ordered baseline first. The hot loop then calls the chosen delegate without feature tests.</summary>
public static class KernelSelect
{
    public static KernelVariant<TFn> Best<TFn>(IReadOnlyList<KernelVariant<TFn>> variants, KernelOptions? options = null) where TFn : Delegate
    {
        options ??= KernelOptions.Default;
        KernelVariant<TFn>? best = null;
        foreach (var v in variants)
        {
            if (options.ForceGeneric && v.Isa != Isa.Scalar) continue;
            if (options.Allowed is { } allowed && v.Isa != Isa.Scalar && !allowed.Contains(v.Isa)) continue;
            if (v.Supported) best = v;
        }
        return best ?? throw new InvalidOperationException($"no supported variant in a family that lacks a scalar reference ({variants[0].Name})");
    }
}
