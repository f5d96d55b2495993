using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The per-ISA operations of a column-panel GEMM family (i8-gemm-nn, f32-gemm-nn) on a vector TV of Width
/// elements T (one output position per lane), and the family's one-output reference for the tails.
/// </summary>
internal interface IGemmNnLanes<T, TV> where T : unmanaged where TV : struct
{
    static abstract int Width { get; }
    static abstract TV Load(ref T p, nuint i);
    static abstract void Store(TV v, ref T p, nuint i);
    static abstract TV Splat(T w);
    /// <summary>One step of the family's order, lane by lane: f32 acc + w*x fused; i8 acc + lo(w)lo(x) + hi(w)hi(x).</summary>
    static abstract TV MulAdd(TV acc, TV w, TV x);
    /// <summary>One output in the same order (the scalar reference's), for positions past the last full vector.</summary>
    static abstract T Dot(ReadOnlySpan<T> wi, ReadOnlySpan<T> x, int q, int ldx);
}

/// <summary>
/// The tile loops shared by the SIMD variants of both column-panel GEMM families, generic over the element and
/// the ISA's lanes: y[i*n + q] = sum_j w[i*k + j] (*) x[j*ldx + q], each output in the family's one order
/// (j ascending from a zero accumulator), so every variant equals its scalar reference bit for bit.
/// Rows in groups of 4 x 2 vectors of positions (8 independent accumulators), then 4 x 1 vector; the last
/// rows % 4 one at a time over 4 vectors (a one-row call does no redundant rows); positions past the last full
/// vector one by one with TL.Dot. Contract: no alignment needed; the family's Check runs first, so loads stay
/// in w[0, rows*k) and x[0, (k-1)*ldx + n), stores in y[0, (rows-1)*ldy + n).
/// </summary>
internal static class GemmNnTile
{
    public static void Run<T, TV, TL>(ReadOnlySpan<T> w, ReadOnlySpan<T> x, Span<T> y, int rows, int k, int n, int ldx)
        where T : unmanaged where TV : struct where TL : struct, IGemmNnLanes<T, TV> => Run<T, TV, TL>(w, x, y, rows, k, n, ldx, n);

    /// <summary><see cref="Run{T, TV, TL}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, int, int, int, int)"/> with output
    /// rows of stride ldy &gt;= n (y[i*ldy + q]): a variant that runs its own blocks passes the edges here.</summary>
    public static void Run<T, TV, TL>(ReadOnlySpan<T> w, ReadOnlySpan<T> x, Span<T> y, int rows, int k, int n, int ldx, int ldy)
        where T : unmanaged where TV : struct where TL : struct, IGemmNnLanes<T, TV>
    {
        if (rows == 0 || n == 0) return;
        int V = TL.Width, full = n - n % V;
        ref T w0 = ref MemoryMarshal.GetReference(w);
        ref T x0 = ref MemoryMarshal.GetReference(x);
        ref T y0 = ref MemoryMarshal.GetReference(y);
        int rows4 = rows - rows % 4;
        for (int i = 0; i < rows4; i += 4)
        {
            ref T a0 = ref Unsafe.Add(ref w0, (nint)i * k);
            ref T a1 = ref Unsafe.Add(ref w0, (nint)(i + 1) * k);
            ref T a2 = ref Unsafe.Add(ref w0, (nint)(i + 2) * k);
            ref T a3 = ref Unsafe.Add(ref w0, (nint)(i + 3) * k);
            ref T d = ref Unsafe.Add(ref y0, (nint)i * ldy);
            int q = 0;
            for (; q + 2 * V <= full; q += 2 * V)
            {
                TV c00 = default, c01 = default, c10 = default, c11 = default;
                TV c20 = default, c21 = default, c30 = default, c31 = default;
                ref T xq = ref Unsafe.Add(ref x0, q);
                // Panel row j at offset o = j*ldx, stepped rather than multiplied (an integer, so no ref past the panel).
                for (nint j = 0, o = 0; j < k; j++, o += ldx)
                {
                    ref T xr = ref Unsafe.Add(ref xq, o);
                    var x_0 = TL.Load(ref xr, 0);
                    var x_1 = TL.Load(ref xr, (nuint)V);
                    var w_ = TL.Splat(Unsafe.Add(ref a0, j));
                    c00 = TL.MulAdd(c00, w_, x_0); c01 = TL.MulAdd(c01, w_, x_1);
                    w_ = TL.Splat(Unsafe.Add(ref a1, j));
                    c10 = TL.MulAdd(c10, w_, x_0); c11 = TL.MulAdd(c11, w_, x_1);
                    w_ = TL.Splat(Unsafe.Add(ref a2, j));
                    c20 = TL.MulAdd(c20, w_, x_0); c21 = TL.MulAdd(c21, w_, x_1);
                    w_ = TL.Splat(Unsafe.Add(ref a3, j));
                    c30 = TL.MulAdd(c30, w_, x_0); c31 = TL.MulAdd(c31, w_, x_1);
                }
                TL.Store(c00, ref d, (nuint)q); TL.Store(c01, ref d, (nuint)(q + V));
                TL.Store(c10, ref d, (nuint)(ldy + q)); TL.Store(c11, ref d, (nuint)(ldy + q + V));
                TL.Store(c20, ref d, (nuint)(2 * ldy + q)); TL.Store(c21, ref d, (nuint)(2 * ldy + q + V));
                TL.Store(c30, ref d, (nuint)(3 * ldy + q)); TL.Store(c31, ref d, (nuint)(3 * ldy + q + V));
            }
            for (; q < full; q += V)
            {
                TV c0 = default, c1 = default, c2 = default, c3 = default;
                ref T xq = ref Unsafe.Add(ref x0, q);
                for (nint j = 0, o = 0; j < k; j++, o += ldx)
                {
                    var xv = TL.Load(ref Unsafe.Add(ref xq, o), 0);
                    c0 = TL.MulAdd(c0, TL.Splat(Unsafe.Add(ref a0, j)), xv);
                    c1 = TL.MulAdd(c1, TL.Splat(Unsafe.Add(ref a1, j)), xv);
                    c2 = TL.MulAdd(c2, TL.Splat(Unsafe.Add(ref a2, j)), xv);
                    c3 = TL.MulAdd(c3, TL.Splat(Unsafe.Add(ref a3, j)), xv);
                }
                TL.Store(c0, ref d, (nuint)q);
                TL.Store(c1, ref d, (nuint)(ldy + q));
                TL.Store(c2, ref d, (nuint)(2 * ldy + q));
                TL.Store(c3, ref d, (nuint)(3 * ldy + q));
            }
            Tail<T, TV, TL>(w, x, y, i, 4, k, n, ldx, ldy, full);
        }
        for (int i = rows4; i < rows; i++)
        {
            ref T a = ref Unsafe.Add(ref w0, (nint)i * k);
            ref T d = ref Unsafe.Add(ref y0, (nint)i * ldy);
            int q = 0;
            for (; q + 4 * V <= full; q += 4 * V)
            {
                TV c0 = default, c1 = default, c2 = default, c3 = default;
                ref T xq = ref Unsafe.Add(ref x0, q);
                for (nint j = 0, o = 0; j < k; j++, o += ldx)
                {
                    ref T xr = ref Unsafe.Add(ref xq, o);
                    var w_ = TL.Splat(Unsafe.Add(ref a, j));
                    c0 = TL.MulAdd(c0, w_, TL.Load(ref xr, 0));
                    c1 = TL.MulAdd(c1, w_, TL.Load(ref xr, (nuint)V));
                    c2 = TL.MulAdd(c2, w_, TL.Load(ref xr, (nuint)(2 * V)));
                    c3 = TL.MulAdd(c3, w_, TL.Load(ref xr, (nuint)(3 * V)));
                }
                TL.Store(c0, ref d, (nuint)q); TL.Store(c1, ref d, (nuint)(q + V));
                TL.Store(c2, ref d, (nuint)(q + 2 * V)); TL.Store(c3, ref d, (nuint)(q + 3 * V));
            }
            for (; q < full; q += V)
            {
                TV c0 = default;
                ref T xq = ref Unsafe.Add(ref x0, q);
                for (nint j = 0, o = 0; j < k; j++, o += ldx)
                    c0 = TL.MulAdd(c0, TL.Splat(Unsafe.Add(ref a, j)), TL.Load(ref Unsafe.Add(ref xq, o), 0));
                TL.Store(c0, ref d, (nuint)q);
            }
            Tail<T, TV, TL>(w, x, y, i, 1, k, n, ldx, ldy, full);
        }
    }

    /// <summary>Rows [i, i + count), positions [full, n): one output at a time in the family's order.</summary>
    private static void Tail<T, TV, TL>(ReadOnlySpan<T> w, ReadOnlySpan<T> x, Span<T> y, int i, int count, int k, int n, int ldx, int ldy, int full)
        where T : unmanaged where TV : struct where TL : struct, IGemmNnLanes<T, TV>
    {
        for (int r = i; r < i + count; r++)
        {
            var wi = w.Slice(r * k, k);
            for (int t = full; t < n; t++) y[r * ldy + t] = TL.Dot(wi, x, t, ldx);
        }
    }
}
