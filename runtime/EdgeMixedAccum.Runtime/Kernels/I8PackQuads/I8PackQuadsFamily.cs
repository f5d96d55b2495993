using System.Runtime.CompilerServices;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// int8 quad packing of the conv panel for i8-gemm-nn4: dst[q] = <see cref="I8GemmNn4Pack.Quad"/>(a[q], b[q], c[q],
/// d[q]) for q in [0, n), n = a's length: four gathered panel rows (input elements j..j+3 of every position of the
/// tile) into one row of quads, bytes a, b, c, d in memory order. Pure data movement, so every variant is bit-identical
/// to the scalar reference; dst past n is left as it is. Whole 16-byte blocks, then a scalar tail.
/// </summary>
public delegate void I8PackQuadsFn(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, ReadOnlySpan<sbyte> c, ReadOnlySpan<sbyte> d, Span<int> dst);

/// <summary>The one variant list of the family (baseline first), read by the dispatcher, `ema selftest` and the tests.</summary>
public sealed class I8PackQuadsFamily : IKernelFamily
{
    public static IReadOnlyList<KernelVariant<I8PackQuadsFn>> Variants { get; } =
    [
        new("i8-pack-quads-scalar", Isa.Scalar, I8PackQuadsScalar.Run),
        new("i8-pack-quads-16-vector128", Isa.Vector128, I8PackQuads16Vector128.Run),
        new("i8-pack-quads-16-advsimd", Isa.AdvSimd, I8PackQuads16AdvSimd.Run),
    ];

    public static I8PackQuadsFamily Instance { get; } = new();

    public string Name => "i8-pack-quads";
    IReadOnlyList<(string Name, Isa Isa)> IKernelFamily.Variants { get; } = Variants.Select(v => (v.Name, v.Isa)).ToArray();
    public string Selected(KernelOptions options) => KernelSelect.Best(Variants, options).Name;

    public IEnumerable<SelfTestResult> SelfTest()
    {
        foreach (var v in Variants)
        {
            if (!v.Supported) continue;
            var failure = Check(v.Fn);
            yield return new(Name, v.Name, v.Isa, failure is null, failure ?? "lengths 0..70 of every byte value: exact, nothing past n written");
        }
    }

    /// <summary>Every length 0..70 (no block, whole blocks, every tail) with the four rows holding every byte value
    /// in different orders and dst pre-filled with a marker: null when each quad is Quad(a, b, c, d) and no marker
    /// past n is overwritten.</summary>
    public static string? Check(I8PackQuadsFn fn)
    {
        for (int n = 0; n <= 70; n++)
        {
            var a = new sbyte[n]; var b = new sbyte[n]; var c = new sbyte[n]; var d = new sbyte[n];
            for (int q = 0; q < n; q++)
            {
                a[q] = (sbyte)(q * 37 + n); b[q] = (sbyte)(255 - q * 11); c[q] = (sbyte)(q * q + 128); d[q] = (sbyte)(q * 101 - n * 3);
            }
            var dst = new int[n + 5];
            Array.Fill(dst, 0x5A5A5A5A);
            fn(a, b, c, d, dst);
            for (int q = 0; q < dst.Length; q++)
            {
                int want = q < n ? I8GemmNn4Pack.Quad(a[q], b[q], c[q], d[q]) : 0x5A5A5A5A;
                if (dst[q] != want) return $"n={n}: dst[{q}] = 0x{dst[q]:X8}, want 0x{want:X8}";
            }
        }
        return null;
    }

    /// <summary>Per-call check, before any unchecked access: after it, reads stay in a, b, c, d [0, n) and writes in dst[0, n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, ReadOnlySpan<sbyte> c, ReadOnlySpan<sbyte> d, Span<int> dst)
    {
        int n = a.Length;
        if (b.Length != n || c.Length != n || d.Length != n || dst.Length < n)
            throw new ArgumentException($"i8-pack-quads: rows of {a.Length}, {b.Length}, {c.Length}, {d.Length} (all equal) into dst of {dst.Length}");
    }
}

/// <summary>The reference: one quad at a time, bounds-checked.</summary>
internal static class I8PackQuadsScalar
{
    public static void Run(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, ReadOnlySpan<sbyte> c, ReadOnlySpan<sbyte> d, Span<int> dst)
    {
        I8PackQuadsFamily.Check(a, b, c, d, dst);
        Tail(a, b, c, d, dst, 0);
    }

    /// <summary>Quads from q0 on (the vector variants' tail).</summary>
    internal static void Tail(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, ReadOnlySpan<sbyte> c, ReadOnlySpan<sbyte> d, Span<int> dst, int q0)
    {
        for (int q = q0; q < a.Length; q++) dst[q] = I8GemmNn4Pack.Quad(a[q], b[q], c[q], d[q]);
    }
}
