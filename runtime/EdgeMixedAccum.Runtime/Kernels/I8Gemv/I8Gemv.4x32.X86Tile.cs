using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The 4 rows x 32 columns tile shared by the AVX2 and AVX-VNNI int8 kernels: one x load and |x| (VPABSB) serve
/// four rows; the ISA-specific multiply-accumulate is the kernel's <see cref="IStep"/>.
/// Contract: no alignment needed; any rows/k including 0. Rows past the last multiple of 4 take a one-row loop;
/// columns past the last multiple of 32 go through the scalar tail (no partial loads), so reads
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
            I8GemvScalar.Finish<TAbs>(ref r0, ref xr, kv, k, Vector256.Sum(d0), Vector256.Sum(a0), ref Unsafe.Add(ref dr, i), ref Unsafe.Add(ref ar, i));
            I8GemvScalar.Finish<TAbs>(ref r1, ref xr, kv, k, Vector256.Sum(d1), Vector256.Sum(a1), ref Unsafe.Add(ref dr, i + 1), ref Unsafe.Add(ref ar, i + 1));
            I8GemvScalar.Finish<TAbs>(ref r2, ref xr, kv, k, Vector256.Sum(d2), Vector256.Sum(a2), ref Unsafe.Add(ref dr, i + 2), ref Unsafe.Add(ref ar, i + 2));
            I8GemvScalar.Finish<TAbs>(ref r3, ref xr, kv, k, Vector256.Sum(d3), Vector256.Sum(a3), ref Unsafe.Add(ref dr, i + 3), ref Unsafe.Add(ref ar, i + 3));
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
            I8GemvScalar.Finish<TAbs>(ref r0, ref xr, kv, k, Vector256.Sum(d0), Vector256.Sum(a0), ref Unsafe.Add(ref dr, i), ref Unsafe.Add(ref ar, i));
        }
    }
}
