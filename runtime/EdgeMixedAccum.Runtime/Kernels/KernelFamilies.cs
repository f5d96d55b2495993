namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>The outcome of one variant on its family's golden vectors.</summary>
public sealed record SelfTestResult(string Family, string Variant, Isa Isa, bool Ok, string Detail);

/// <summary>
/// A kernel family as `ema selftest` and `ema doctor` see it: its variants (baseline first), the one a
/// session would choose, and a self-test that runs the family's golden vectors on every variant this CPU
/// supports. The xunit tests run the same golden vectors, so a variant is tested the day it is added.
/// </summary>
public interface IKernelFamily
{
    /// <summary>dtype-op, e.g. "i8-gemv".</summary>
    string Name { get; }
    IReadOnlyList<(string Name, Isa Isa)> Variants { get; }
    string Selected(KernelOptions options);
    IEnumerable<SelfTestResult> SelfTest();
}

/// <summary>Every kernel family of the runtime: one line each, added with the family.</summary>
public static class KernelFamilies
{
    public static IReadOnlyList<IKernelFamily> All { get; } =
    [
        I8GemvFamily.Instance,
        F32GemvRowsFamily.Instance,
        F16GemvFamily.Instance,
        I8GemmFamily.Instance,
        F32GemmFamily.Instance,
        I8GemmNnFamily.Instance,
        I8GemmNn4Family.Instance,
        I8PackQuadsFamily.Instance,
        F32GemmNnFamily.Instance,
        F32DotTapsFamily.Instance,
        F32TransposeFamily.Instance,
    ];
}
