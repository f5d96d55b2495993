using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// Portable Vector128 (SSE2..4 on x64, NEON on ARM64), 4 rows x 16 columns per step. Bytes widen to int16 (x
/// once for four rows); lane l holds w[l]*x[l] + w[l+8]*x[l+8], at most 2*127*127 = 32258 < 32767, so the int16
/// sum is exact before it widens to int32. Same for |w|*|x| (Vector128.Abs on the widened int16).
/// Contract: no alignment needed; any rows/k including 0. Rows past the last multiple of 4 take a one-row loop;
/// columns past the last multiple of 16 go through the scalar tail (no partial loads), so reads
/// stay in w[0, rows*k) and x[0, k) and writes in dot/absDot[0, rows).
/// </summary>
internal static class I8Gemv4x16Vector128
{
    private const int W = 16;

    public static void Run(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, Span<int> absDot, int rows, int k)
    {
        I8GemvFamily.Check(w, x, dot, absDot, rows, k);
        if (absDot.IsEmpty) Rows<NoAbs>(w, x, dot, absDot, rows, k);
        else Rows<WithAbs>(w, x, dot, absDot, rows, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step<TAbs>(Vector128<short> xl, Vector128<short> xh, Vector128<short> axl, Vector128<short> axh, Vector128<sbyte> wv, ref Vector128<int> d, ref Vector128<int> a)
        where TAbs : struct, IAbsMode
    {
        var (wl, wh) = Vector128.Widen(wv);
        var (pl, ph) = Vector128.Widen(wl * xl + wh * xh);
        d += pl + ph;
        if (TAbs.On)
        {
            var (ql, qh) = Vector128.Widen(Vector128.Abs(wl) * axl + Vector128.Abs(wh) * axh);
            a += ql + qh;
        }
    }

    private static void Rows<TAbs>(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, Span<int> absDot, int rows, int k)
        where TAbs : struct, IAbsMode
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
            Vector128<int> d0 = default, d1 = default, d2 = default, d3 = default;
            Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int j = 0; j < kv; j += W)
            {
                var xv = Vector128.LoadUnsafe(ref xr, (nuint)j);
                var (xl, xh) = Vector128.Widen(xv);
                var (axl, axh) = (Vector128.Abs(xl), Vector128.Abs(xh));
                Step<TAbs>(xl, xh, axl, axh, Vector128.LoadUnsafe(ref r0, (nuint)j), ref d0, ref a0);
                Step<TAbs>(xl, xh, axl, axh, Vector128.LoadUnsafe(ref r1, (nuint)j), ref d1, ref a1);
                Step<TAbs>(xl, xh, axl, axh, Vector128.LoadUnsafe(ref r2, (nuint)j), ref d2, ref a2);
                Step<TAbs>(xl, xh, axl, axh, Vector128.LoadUnsafe(ref r3, (nuint)j), ref d3, ref a3);
            }
            I8GemvScalar.Finish<TAbs>(ref r0, ref xr, kv, k, Vector128.Sum(d0), Vector128.Sum(a0), ref Unsafe.Add(ref dr, i), ref Unsafe.Add(ref ar, i));
            I8GemvScalar.Finish<TAbs>(ref r1, ref xr, kv, k, Vector128.Sum(d1), Vector128.Sum(a1), ref Unsafe.Add(ref dr, i + 1), ref Unsafe.Add(ref ar, i + 1));
            I8GemvScalar.Finish<TAbs>(ref r2, ref xr, kv, k, Vector128.Sum(d2), Vector128.Sum(a2), ref Unsafe.Add(ref dr, i + 2), ref Unsafe.Add(ref ar, i + 2));
            I8GemvScalar.Finish<TAbs>(ref r3, ref xr, kv, k, Vector128.Sum(d3), Vector128.Sum(a3), ref Unsafe.Add(ref dr, i + 3), ref Unsafe.Add(ref ar, i + 3));
        }
        for (; i < rows; i++)
        {
            ref sbyte r0 = ref Unsafe.Add(ref w0, (nint)i * k);
            Vector128<int> d0 = default, a0 = default;
            for (int j = 0; j < kv; j += W)
            {
                var xv = Vector128.LoadUnsafe(ref xr, (nuint)j);
                var (xl, xh) = Vector128.Widen(xv);
                var (axl, axh) = (Vector128.Abs(xl), Vector128.Abs(xh));
                Step<TAbs>(xl, xh, axl, axh, Vector128.LoadUnsafe(ref r0, (nuint)j), ref d0, ref a0);
            }
            I8GemvScalar.Finish<TAbs>(ref r0, ref xr, kv, k, Vector128.Sum(d0), Vector128.Sum(a0), ref Unsafe.Add(ref dr, i), ref Unsafe.Add(ref ar, i));
        }
    }
}
