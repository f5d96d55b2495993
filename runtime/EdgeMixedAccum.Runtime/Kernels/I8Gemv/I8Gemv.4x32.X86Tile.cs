using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The 4 rows x 32 columns tile shared by the AVX2 and AVX-VNNI int8 kernels: one x load and |x| (VPABSB) serve
/// four rows; the ISA-specific multiply-accumulate is the kernel's <see cref="IStep"/>.
/// Contract: no alignment needed; any rows/k including 0. Rows past the last multiple of 4 take a one-row loop;
/// columns past the last multiple of 32 take one 16-column step when 16 or more remain, the rest the scalar tail
/// (no partial loads), so reads
/// stay in w[0, rows*k) and x[0, k) and writes in dot/absDot[0, rows).
/// </summary>
internal static class I8Gemv4x32X86Tile
{
    private const int W = 32;

    /// <summary>One 256-bit-wide step of one row: the only part that differs between the ISAs on this tile.</summary>
    public interface IStep
    {
        static abstract void Step<TAbs>(Vector256<byte> ux, Vector256<sbyte> xv, Vector256<sbyte> wv, ref Vector256<int> d, ref Vector256<int> a) where TAbs : struct, IAbsMode;
    }

    public static void Run<TStep>(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, Span<int> absDot, int rows, int k)
        where TStep : struct, IStep
    {
        I8GemvFamily.Check(w, x, dot, absDot, rows, k);
        if (absDot.IsEmpty) Rows<TStep, NoAbs>(w, x, dot, absDot, rows, k);
        else Rows<TStep, WithAbs>(w, x, dot, absDot, rows, k);
    }

    private static void Rows<TStep, TAbs>(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, Span<int> absDot, int rows, int k)
        where TStep : struct, IStep where TAbs : struct, IAbsMode
    {
        ref sbyte w0 = ref MemoryMarshal.GetReference(w);
        ref sbyte xr = ref MemoryMarshal.GetReference(x);
        ref int dr = ref MemoryMarshal.GetReference(dot);
        // Without absDot, aim its ref at dot: Finish<NoAbs> never writes it, and no ref points outside the caller's data.
        ref int ar = ref TAbs.On ? ref MemoryMarshal.GetReference(absDot) : ref dr;
        int kv = k - k % W;
        int i = 0;
        for (; i + 4 <= rows; i += 4)
        {
            ref sbyte r0 = ref Unsafe.Add(ref w0, (nint)i * k);
            ref sbyte r1 = ref Unsafe.Add(ref r0, k);
            ref sbyte r2 = ref Unsafe.Add(ref r1, k);
            ref sbyte r3 = ref Unsafe.Add(ref r2, k);
            Vector256<int> d0 = default, d1 = default, d2 = default, d3 = default;
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int j = 0; j < kv; j += W)
            {
                var xv = Vector256.LoadUnsafe(ref xr, (nuint)j);
                var ux = Avx2.Abs(xv);
                TStep.Step<TAbs>(ux, xv, Vector256.LoadUnsafe(ref r0, (nuint)j), ref d0, ref a0);
                TStep.Step<TAbs>(ux, xv, Vector256.LoadUnsafe(ref r1, (nuint)j), ref d1, ref a1);
                TStep.Step<TAbs>(ux, xv, Vector256.LoadUnsafe(ref r2, (nuint)j), ref d2, ref a2);
                TStep.Step<TAbs>(ux, xv, Vector256.LoadUnsafe(ref r3, (nuint)j), ref d3, ref a3);
            }
            int s0 = Vector256.Sum(d0), s1 = Vector256.Sum(d1), s2 = Vector256.Sum(d2), s3 = Vector256.Sum(d3);
            int t0 = Vector256.Sum(a0), t1 = Vector256.Sum(a1), t2 = Vector256.Sum(a2), t3 = Vector256.Sum(a3);
            int jt = kv;
            if (k - kv >= 16)
            {
                var xh = Vector128.LoadUnsafe(ref xr, (nuint)kv);
                var uh = Ssse3.Abs(xh);
                Half<TAbs>(uh, xh, Vector128.LoadUnsafe(ref r0, (nuint)kv), ref s0, ref t0);
                Half<TAbs>(uh, xh, Vector128.LoadUnsafe(ref r1, (nuint)kv), ref s1, ref t1);
                Half<TAbs>(uh, xh, Vector128.LoadUnsafe(ref r2, (nuint)kv), ref s2, ref t2);
                Half<TAbs>(uh, xh, Vector128.LoadUnsafe(ref r3, (nuint)kv), ref s3, ref t3);
                jt = kv + 16;
            }
            I8GemvScalar.Finish<TAbs>(ref r0, ref xr, jt, k, s0, t0, ref Unsafe.Add(ref dr, i), ref Unsafe.Add(ref ar, i));
            I8GemvScalar.Finish<TAbs>(ref r1, ref xr, jt, k, s1, t1, ref Unsafe.Add(ref dr, i + 1), ref Unsafe.Add(ref ar, i + 1));
            I8GemvScalar.Finish<TAbs>(ref r2, ref xr, jt, k, s2, t2, ref Unsafe.Add(ref dr, i + 2), ref Unsafe.Add(ref ar, i + 2));
            I8GemvScalar.Finish<TAbs>(ref r3, ref xr, jt, k, s3, t3, ref Unsafe.Add(ref dr, i + 3), ref Unsafe.Add(ref ar, i + 3));
        }
        for (; i < rows; i++)
        {
            ref sbyte r0 = ref Unsafe.Add(ref w0, (nint)i * k);
            Vector256<int> d0 = default, a0 = default;
            for (int j = 0; j < kv; j += W)
            {
                var xv = Vector256.LoadUnsafe(ref xr, (nuint)j);
                var ux = Avx2.Abs(xv);
                TStep.Step<TAbs>(ux, xv, Vector256.LoadUnsafe(ref r0, (nuint)j), ref d0, ref a0);
            }
            int s0 = Vector256.Sum(d0), t0 = Vector256.Sum(a0), jt = kv;
            if (k - kv >= 16)
            {
                var xh = Vector128.LoadUnsafe(ref xr, (nuint)kv);
                Half<TAbs>(Ssse3.Abs(xh), xh, Vector128.LoadUnsafe(ref r0, (nuint)kv), ref s0, ref t0);
                jt = kv + 16;
            }
            I8GemvScalar.Finish<TAbs>(ref r0, ref xr, jt, k, s0, t0, ref Unsafe.Add(ref dr, i), ref Unsafe.Add(ref ar, i));
        }
    }

    /// <summary>Sixteen columns of one row in 128-bit lanes (the AVX2 step's sign trick, exact for the same reason),
    /// added to the row's sums: a tail of 16 to 31 columns (k = 784: 16 per row) took the scalar loop, about a third
    /// of the instructions of a 784-column GEMV. Both tile variants run on AVX2 machines, so SSSE3 is there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Half<TAbs>(Vector128<byte> ux, Vector128<sbyte> xv, Vector128<sbyte> wv, ref int d, ref int a) where TAbs : struct, IAbsMode
    {
        var ones = Vector128.Create((short)1);
        d += Vector128.Sum(Sse2.MultiplyAddAdjacent(Ssse3.MultiplyAddAdjacent(ux, Ssse3.Sign(wv, xv)), ones));
        if (TAbs.On) a += Vector128.Sum(Sse2.MultiplyAddAdjacent(Ssse3.MultiplyAddAdjacent(ux, Ssse3.Abs(wv).AsSByte()), ones));
    }
}
