using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>The per-ISA vector operations of f32-gemm-nn, on a vector TV of Width floats.</summary>
internal interface IF32NnLanes<TV> where TV : struct
{
    static abstract int Width { get; }
    static abstract TV Load(ref float p, nuint i);
    static abstract void Store(TV v, ref float p, nuint i);
    static abstract TV Splat(float v);
    /// <summary>acc + w*x with one rounding (fused), lane by lane.</summary>
    static abstract TV Fma(TV acc, TV w, TV x);
}

/// <summary>
/// The tile loop of the SIMD f32-gemm-nn variants, generic over the ISA's lanes: 4 rows x 2 vectors of
/// positions (8 independent accumulators, enough to cover the FMA latency), then 4 rows x 1 vector, then the
/// positions past the last full vector one by one with the scalar order (F32GemmNnScalar.Dot), so every
/// output has the family's bits whatever its place. Rows come in groups of 4, the last rows % 4 one by one.
/// Contract: no alignment needed; F32GemmNnFamily.Check runs first, so loads stay in w[0, rows*k) and
/// x[0, (k-1)*ldx + n), stores in y[0, rows*n).
/// </summary>
internal static class F32GemmNnTile
{
    public static void Run4x2<TV, TL>(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n, int ldx)
        where TV : struct where TL : struct, IF32NnLanes<TV>
    {
        F32GemmNnFamily.Check(w, x, y, rows, k, n, ldx);
        if (rows == 0 || n == 0) return;
        int V = TL.Width, full = n - n % V;
        ref float w0 = ref MemoryMarshal.GetReference(w);
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        int rows4 = rows - rows % 4;
        for (int i = 0; i < rows4; i += 4)
        {
            const int mr = 4;
            ref float a0 = ref Unsafe.Add(ref w0, (nint)i * k);
            ref float a1 = ref Unsafe.Add(ref w0, (nint)(i + 1) * k);
            ref float a2 = ref Unsafe.Add(ref w0, (nint)(i + 2) * k);
            ref float a3 = ref Unsafe.Add(ref w0, (nint)(i + 3) * k);
            ref float d0 = ref Unsafe.Add(ref y0, (nint)i * n);
            int q = 0;
            for (; q + 2 * V <= full; q += 2 * V)
            {
                TV c00 = default, c01 = default, c10 = default, c11 = default;
                TV c20 = default, c21 = default, c30 = default, c31 = default;
                ref float xq = ref Unsafe.Add(ref x0, q);
                for (int j = 0; j < k; j++)
                {
                    ref float xr = ref Unsafe.Add(ref xq, (nint)j * ldx);
                    var x_0 = TL.Load(ref xr, 0);
                    var x_1 = TL.Load(ref xr, (nuint)V);
                    var w_ = TL.Splat(Unsafe.Add(ref a0, j));
                    c00 = TL.Fma(c00, w_, x_0); c01 = TL.Fma(c01, w_, x_1);
                    w_ = TL.Splat(Unsafe.Add(ref a1, j));
                    c10 = TL.Fma(c10, w_, x_0); c11 = TL.Fma(c11, w_, x_1);
                    w_ = TL.Splat(Unsafe.Add(ref a2, j));
                    c20 = TL.Fma(c20, w_, x_0); c21 = TL.Fma(c21, w_, x_1);
                    w_ = TL.Splat(Unsafe.Add(ref a3, j));
                    c30 = TL.Fma(c30, w_, x_0); c31 = TL.Fma(c31, w_, x_1);
                }
                ref float d = ref Unsafe.Add(ref d0, q);
                TL.Store(c00, ref d, 0); TL.Store(c01, ref d, (nuint)V);
                TL.Store(c10, ref d, (nuint)n); TL.Store(c11, ref d, (nuint)(n + V));
                TL.Store(c20, ref d, (nuint)(2 * n)); TL.Store(c21, ref d, (nuint)(2 * n + V));
                TL.Store(c30, ref d, (nuint)(3 * n)); TL.Store(c31, ref d, (nuint)(3 * n + V));
            }
            for (; q < full; q += V)
            {
                TV c0 = default, c1 = default, c2 = default, c3 = default;
                ref float xq = ref Unsafe.Add(ref x0, q);
                for (int j = 0; j < k; j++)
                {
                    var xv = TL.Load(ref Unsafe.Add(ref xq, (nint)j * ldx), 0);
                    c0 = TL.Fma(c0, TL.Splat(Unsafe.Add(ref a0, j)), xv);
                    c1 = TL.Fma(c1, TL.Splat(Unsafe.Add(ref a1, j)), xv);
                    c2 = TL.Fma(c2, TL.Splat(Unsafe.Add(ref a2, j)), xv);
                    c3 = TL.Fma(c3, TL.Splat(Unsafe.Add(ref a3, j)), xv);
                }
                ref float d = ref Unsafe.Add(ref d0, q);
                TL.Store(c0, ref d, 0);
                TL.Store(c1, ref d, (nuint)n);
                TL.Store(c2, ref d, (nuint)(2 * n));
                TL.Store(c3, ref d, (nuint)(3 * n));
            }
            for (int r = 0; r < mr; r++)
            {
                var wi = w.Slice((i + r) * k, k);
                for (int t = full; t < n; t++) y[(i + r) * n + t] = F32GemmNnScalar.Dot(wi, x, t, ldx);
            }
        }
        // The last rows % 4 rows one at a time, 4 vectors of positions per step (4 independent accumulators),
        // so a one-row call (a recompute) does no redundant rows.
        for (int i = rows4; i < rows; i++)
        {
            ref float a = ref Unsafe.Add(ref w0, (nint)i * k);
            ref float d = ref Unsafe.Add(ref y0, (nint)i * n);
            int q = 0;
            for (; q + 4 * V <= full; q += 4 * V)
            {
                TV c0 = default, c1 = default, c2 = default, c3 = default;
                ref float xq = ref Unsafe.Add(ref x0, q);
                for (int j = 0; j < k; j++)
                {
                    ref float xr = ref Unsafe.Add(ref xq, (nint)j * ldx);
                    var w_ = TL.Splat(Unsafe.Add(ref a, j));
                    c0 = TL.Fma(c0, w_, TL.Load(ref xr, 0));
                    c1 = TL.Fma(c1, w_, TL.Load(ref xr, (nuint)V));
                    c2 = TL.Fma(c2, w_, TL.Load(ref xr, (nuint)(2 * V)));
                    c3 = TL.Fma(c3, w_, TL.Load(ref xr, (nuint)(3 * V)));
                }
                TL.Store(c0, ref d, (nuint)q); TL.Store(c1, ref d, (nuint)(q + V));
                TL.Store(c2, ref d, (nuint)(q + 2 * V)); TL.Store(c3, ref d, (nuint)(q + 3 * V));
            }
            for (; q < full; q += V)
            {
                TV c0 = default;
                ref float xq = ref Unsafe.Add(ref x0, q);
                for (int j = 0; j < k; j++)
                    c0 = TL.Fma(c0, TL.Splat(Unsafe.Add(ref a, j)), TL.Load(ref Unsafe.Add(ref xq, (nint)j * ldx), 0));
                TL.Store(c0, ref d, (nuint)q);
            }
            var wi = w.Slice(i * k, k);
            for (int t = full; t < n; t++) y[i * n + t] = F32GemmNnScalar.Dot(wi, x, t, ldx);
        }
    }
}
