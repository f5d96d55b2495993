using System.Runtime.CompilerServices;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// fp32 matrix transpose: y[c*ldy + r] = x[r*ldx + c] for r in [0, rows), c in [0, cols): a conv input's channels
/// (rows of ldx pixels, NCHW) into pixels of ldy channels (NHWC) for the sparse recompute. Pure data movement,
/// so every variant is bit-identical to the scalar reference; elements of y outside the written ones are left
/// as they are (the channel padding stays zero). Blocks of whole vectors, then scalar edges.
/// </summary>
public delegate void F32TransposeFn(ReadOnlySpan<float> x, int rows, int cols, int ldx, Span<float> y, int ldy);

/// <summary>The one variant list of the family (baseline first), read by the dispatcher, `ema selftest` and the tests.</summary>
public sealed class F32TransposeFamily : IKernelFamily
{
    public static IReadOnlyList<KernelVariant<F32TransposeFn>> Variants { get; } =
    [
        new("f32-transpose-scalar", Isa.Scalar, F32TransposeScalar.Run),
        new("f32-transpose-4x4-advsimd", Isa.AdvSimd, F32Transpose4x4AdvSimd.Run),
        new("f32-transpose-8x8-avx2", Isa.Avx2, F32Transpose8x8Avx2.Run),
    ];

    public static F32TransposeFamily Instance { get; } = new();

    public string Name => "f32-transpose";
    IReadOnlyList<(string Name, Isa Isa)> IKernelFamily.Variants { get; } = Variants.Select(v => (v.Name, v.Isa)).ToArray();
    public string Selected(KernelOptions options) => KernelSelect.Best(Variants, options).Name;

    public IEnumerable<SelfTestResult> SelfTest()
    {
        foreach (var v in Variants)
        {
            if (!v.Supported) continue;
            var failure = Check(v.Fn);
            yield return new(Name, v.Name, v.Isa, failure is null, failure ?? "rows and cols 0..19 with strides past them: exact, nothing else written");
        }
    }

    /// <summary>Every shape rows, cols in 0..19 (whole blocks and both edges) with ldx = cols + 3, ldy = rows + 2,
    /// y pre-filled with a marker: null when every element lands where it must and no marker is overwritten.</summary>
    public static string? Check(F32TransposeFn fn)
    {
        for (int rows = 0; rows < 20; rows++)
            for (int cols = 0; cols < 20; cols++)
            {
                int ldx = cols + 3, ldy = rows + 2;
                var x = new float[rows * ldx];
                for (int i = 0; i < x.Length; i++) x[i] = i * 0.5f - 7;
                var y = new float[cols * ldy];
                Array.Fill(y, float.NaN);
                fn(x, rows, cols, ldx, y, ldy);
                for (int c = 0; c < cols; c++)
                    for (int r = 0; r < ldy; r++)
                    {
                        float want = r < rows ? x[r * ldx + c] : float.NaN, got = y[c * ldy + r];
                        if (BitConverter.SingleToInt32Bits(want) != BitConverter.SingleToInt32Bits(got))
                            return $"rows={rows} cols={cols}: y[{c}*{ldy}+{r}] = {got}, want {want}";
                    }
            }
        return null;
    }

    /// <summary>Per-call check, before any unchecked access: after it, reads stay in x[0, (rows-1)*ldx + cols) and
    /// writes in y[0, (cols-1)*ldy + rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(ReadOnlySpan<float> x, int rows, int cols, int ldx, Span<float> y, int ldy)
    {
        if (rows < 0 || cols < 0 || ldx < cols || ldy < rows
            || (rows > 0 && cols > 0 && ((long)(rows - 1) * ldx + cols > x.Length || (long)(cols - 1) * ldy + rows > y.Length)))
            throw new ArgumentException($"f32-transpose: rows={rows} cols={cols} ldx={ldx} ldy={ldy} need ldx>=cols, ldy>=rows, x>={(long)(rows - 1) * ldx + cols} y>={(long)(cols - 1) * ldy + rows}; got x={x.Length} y={y.Length}");
    }
}

/// <summary>One square block of a vector variant: Size x Size elements transposed in registers.</summary>
internal interface ITransposeBlock
{
    static abstract int Size { get; }
    static abstract void Block(ref float x, int ldx, ref float y, int ldy);
}

/// <summary>The loop of the vector variants: the check, whole blocks, then the scalar edges.</summary>
internal static class TransposeBlocks
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TB>(ReadOnlySpan<float> x, int rows, int cols, int ldx, Span<float> y, int ldy) where TB : ITransposeBlock
    {
        F32TransposeFamily.Check(x, rows, cols, ldx, y, ldy);
        int rb = rows - rows % TB.Size, cb = cols - cols % TB.Size;
        ref float x0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref float y0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        for (int r = 0; r < rb; r += TB.Size)
            for (int c = 0; c < cb; c += TB.Size)
                TB.Block(ref Unsafe.Add(ref x0, (nint)r * ldx + c), ldx, ref Unsafe.Add(ref y0, (nint)c * ldy + r), ldy);
        F32TransposeScalar.Edges(x, rows, cols, ldx, y, ldy, rb, cb);
    }
}

/// <summary>The reference: one element at a time, bounds-checked.</summary>
internal static class F32TransposeScalar
{
    public static void Run(ReadOnlySpan<float> x, int rows, int cols, int ldx, Span<float> y, int ldy)
    {
        F32TransposeFamily.Check(x, rows, cols, ldx, y, ldy);
        Edges(x, rows, cols, ldx, y, ldy, 0, 0);
    }

    /// <summary>Everything outside the [0, rb) x [0, cb) block corner the vector variants did.</summary>
    internal static void Edges(ReadOnlySpan<float> x, int rows, int cols, int ldx, Span<float> y, int ldy, int rb, int cb)
    {
        for (int r = 0; r < rows; r++)
            for (int c = r < rb ? cb : 0; c < cols; c++)
                y[c * ldy + r] = x[r * ldx + c];
    }
}
