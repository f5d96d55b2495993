using EdgeMixedAccum.Runtime.Kernels;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>The dispatch table of a session: one variant per kernel family, chosen once from the CPU's
/// features and the options (baseline first, upgraded per ISA); the hot loop calls these delegates.</summary>
public sealed class KernelSet
{
    internal I8GemvFn I8 { get; }
    internal F16GemvFn F16 { get; }
    internal F32GemvRowsFn F32Rows { get; }
    internal I8GemmFn I8Gemm { get; }
    internal F32GemmFn F32Gemm { get; }
    internal I8GemmNnFn I8GemmNn { get; }
    /// <summary>The quad-layout int8 conv GEMM where it beats the pair layout (<see cref="QuadLayoutWins"/>), else null.</summary>
    internal I8GemmNn4Fn? I8GemmNn4 { get; }
    /// <summary>The quad layout's panel packing (with <see cref="I8GemmNn4"/>).</summary>
    internal I8PackQuadsFn I8PackQuads { get; }
    internal F32GemmNnFn F32GemmNn { get; }
    internal F32DotTapsFn F32DotTaps { get; }
    internal F32TransposeFn F32Transpose { get; }

    /// <summary>
    /// Whether int8 convs take the quad layout (i8-gemm-nn4) rather than pairs (i8-gemm-nn): where its instruction
    /// does more multiply-adds than the pair kernel's. SDOT does 16 per instruction against SMLAL's 4 (ARMv8.2
    /// dot product), VPDPBUSD ymm 32 against VPMADDWD ymm's 16 (AVX2 with AVX-VNNI); against AVX-512BW's VPMADDWD
    /// zmm (also 32) it measured no faster on the audio CNN, as .NET 10 has no 512-bit VPDPBUSD, so pairs stay.
    /// Both scalar (forced generic): either layout, quads.
    /// </summary>
    internal static bool QuadLayoutWins(Isa quad, Isa pair) => quad switch
    {
        Isa.Dp => true,
        Isa.AvxVnni => pair != Isa.Avx512BW,
        _ => pair == Isa.Scalar,
    };

    /// <summary>Family name to the chosen variant's name (e.g. "i8-gemv" -> "i8-gemv-8x16-dp").</summary>
    public IReadOnlyDictionary<string, string> Chosen { get; }

    public KernelSet(KernelOptions options)
    {
        var i8 = KernelSelect.Best(I8GemvFamily.Variants, options);
        var f16 = KernelSelect.Best(F16Gemv.Variants, options);
        var f32 = KernelSelect.Best(F32GemvRowsFamily.Variants, options);
        var i8m = KernelSelect.Best(I8GemmFamily.Variants, options);
        var f32m = KernelSelect.Best(F32GemmFamily.Variants, options);
        var i8nn = KernelSelect.Best(I8GemmNnFamily.Variants, options);
        var i8nn4 = KernelSelect.Best(I8GemmNn4Family.Variants, options);
        var pack4 = KernelSelect.Best(I8PackQuadsFamily.Variants, options);
        var f32nn = KernelSelect.Best(F32GemmNnFamily.Variants, options);
        var dot = KernelSelect.Best(F32DotTapsFamily.Variants, options);
        var tr = KernelSelect.Best(F32TransposeFamily.Variants, options);
        I8GemmNn = i8nn.Fn; F32GemmNn = f32nn.Fn;
        I8GemmNn4 = QuadLayoutWins(i8nn4.Isa, i8nn.Isa) ? i8nn4.Fn : null; F32DotTaps = dot.Fn; F32Transpose = tr.Fn;
        I8PackQuads = pack4.Fn;
        I8 = i8.Fn; F16 = f16.Fn; F32Rows = f32.Fn; I8Gemm = i8m.Fn; F32Gemm = f32m.Fn;
        Chosen = new Dictionary<string, string>
        {
            [I8GemvFamily.Instance.Name] = i8.Name,
            [F16GemvFamily.Instance.Name] = f16.Name,
            [F32GemvRowsFamily.Instance.Name] = f32.Name,
            [I8GemmFamily.Instance.Name] = i8m.Name,
            [F32GemmFamily.Instance.Name] = f32m.Name,
            [I8GemmNnFamily.Instance.Name] = i8nn.Name,
            [I8GemmNn4Family.Instance.Name] = I8GemmNn4 is null ? "none (pair layout)" : i8nn4.Name,
            [I8PackQuadsFamily.Instance.Name] = I8GemmNn4 is null ? "none (pair layout)" : pack4.Name,
            [F32GemmNnFamily.Instance.Name] = f32nn.Name,
            [F32DotTapsFamily.Instance.Name] = dot.Name,
            [F32TransposeFamily.Instance.Name] = tr.Name,
        };
    }
}
