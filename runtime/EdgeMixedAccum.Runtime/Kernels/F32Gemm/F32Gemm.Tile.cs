using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The per-ISA operations of the fp32 kernels (f32-gemm and f32-gemv-rows), on a vector TV of Width floats.
/// Each ISA's ops live in one struct shared by its f32-gemm and f32-gemv-rows variants, so both sum every
/// output with the same multiply-add and the same horizontal sums. The tiles are generic over the struct
/// (static abstract members, no virtual call): the JIT compiles one specialised copy per ISA, with every op
/// inlined.
/// </summary>
internal interface IF32Lanes<TV> where TV : struct
{
    /// <summary>V, the floats per vector: the column step.</summary>
    static abstract int Width { get; }
    /// <summary>Width floats from p + i (no alignment needed).</summary>
    static abstract TV Load(ref float p, nuint i);
    /// <summary>acc + w*x, lane by lane, fused or unfused as the ISA's variants state.</summary>
    static abstract TV MulAdd(TV acc, TV w, TV x);
    /// <summary>The horizontal sums of 4 accumulators, each in F32GemvRowsFamily.Sum's order.</summary>
    static abstract Vector128<float> Sum4(TV a, TV b, TV c, TV d);
    /// <summary>The horizontal sum of one accumulator, F32GemvRowsFamily.Sum.</summary>
    static abstract float Sum(TV v);
}

/// <summary>
/// The tile loops shared by the SIMD f32-gemm variants, generic over the ISA's <see cref="IF32Lanes{TV}"/>:
/// 4 rows x 4 input vectors (16 accumulators) or 4 rows x 2 input vectors (8 accumulators).
/// Order, the same for every output wherever it sits in a tile: one accumulator of V lanes per (row, input
/// vector); step j (multiples of V) adds column j + l to lane l (TL.MulAdd); the last k mod V columns, copied
/// into zero-padded V-wide stack buffers, are one more TL.MulAdd step; then the horizontal sum TL.Sum4.
/// Tiles: rows sweep outer, input vectors inner, over chunks of x sized by F32GemmFamily.SampleChunk. A tile
/// past the last row or input vector repeats the last one (clamped indices) and stores only the real outputs.
/// Contract: no alignment needed; any shape; F32GemmFamily.Check runs first, so loads stay in
/// w[0, rows*k) and x[0, n*k) and stores in y[0, n*rows).
/// </summary>
internal static class F32GemmTile
{
    private const int MR = 4;

    /// <summary>Tiles of 4 rows x 4 input vectors.</summary>
    public static void Run4x4<TV, TL>(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n)
        where TV : struct where TL : struct, IF32Lanes<TV>
    {
        const int NR = 4;
        F32GemmFamily.Check(w, x, y, rows, k, n);
        if (rows == 0 || n == 0) return;
        Span<float> pad = stackalloc float[(MR + NR) * TL.Width];
        pad.Clear(); // lanes past k mod V stay zero for the whole call
        ref float w0 = ref MemoryMarshal.GetReference(w);
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        ref float p0 = ref MemoryMarshal.GetReference(pad);
        int chunk = F32GemmFamily.SampleChunk(k, NR);
        for (int sc = 0; sc < n; sc += chunk)
        {
            int sEnd = Math.Min(n, sc + chunk);
            for (int i = 0; i < rows; i += MR)
                for (int s = sc; s < sEnd; s += NR)
                    Tile4x4<TV, TL>(ref w0, ref x0, ref y0, ref p0, i, s, rows, k, n);
        }
    }

    /// <summary>Tiles of 4 rows x 2 input vectors.</summary>
    public static void Run4x2<TV, TL>(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n)
        where TV : struct where TL : struct, IF32Lanes<TV>
    {
        const int NR = 2;
        F32GemmFamily.Check(w, x, y, rows, k, n);
        if (rows == 0 || n == 0) return;
        Span<float> pad = stackalloc float[(MR + NR) * TL.Width];
        pad.Clear(); // lanes past k mod V stay zero for the whole call
        ref float w0 = ref MemoryMarshal.GetReference(w);
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        ref float p0 = ref MemoryMarshal.GetReference(pad);
        int chunk = F32GemmFamily.SampleChunk(k, NR);
        for (int sc = 0; sc < n; sc += chunk)
        {
            int sEnd = Math.Min(n, sc + chunk);
            for (int i = 0; i < rows; i += MR)
                for (int s = sc; s < sEnd; s += NR)
                    Tile4x2<TV, TL>(ref w0, ref x0, ref y0, ref p0, i, s, rows, k, n);
        }
    }

    private static void Tile4x4<TV, TL>(ref float w0, ref float x0, ref float y0, ref float pad, int i, int s, int rows, int k, int n)
        where TV : struct where TL : struct, IF32Lanes<TV>
    {
        int V = TL.Width;
        int last = rows - 1, lastS = n - 1;
        ref float a0 = ref Unsafe.Add(ref w0, (nint)i * k);
        ref float a1 = ref Unsafe.Add(ref w0, (nint)Math.Min(i + 1, last) * k);
        ref float a2 = ref Unsafe.Add(ref w0, (nint)Math.Min(i + 2, last) * k);
        ref float a3 = ref Unsafe.Add(ref w0, (nint)Math.Min(i + 3, last) * k);
        ref float b0 = ref Unsafe.Add(ref x0, (nint)s * k);
        ref float b1 = ref Unsafe.Add(ref x0, (nint)Math.Min(s + 1, lastS) * k);
        ref float b2 = ref Unsafe.Add(ref x0, (nint)Math.Min(s + 2, lastS) * k);
        ref float b3 = ref Unsafe.Add(ref x0, (nint)Math.Min(s + 3, lastS) * k);
        int kt = k % V, end = k - kt;
        // The k tail first (a call, so no accumulator is live across it): the last kt columns of each row
        // and input vector into zero-padded V-wide buffers.
        if (kt > 0)
        {
            Copy(ref Unsafe.Add(ref a0, end), ref pad, kt);
            Copy(ref Unsafe.Add(ref a1, end), ref Unsafe.Add(ref pad, V), kt);
            Copy(ref Unsafe.Add(ref a2, end), ref Unsafe.Add(ref pad, 2 * V), kt);
            Copy(ref Unsafe.Add(ref a3, end), ref Unsafe.Add(ref pad, 3 * V), kt);
            Copy(ref Unsafe.Add(ref b0, end), ref Unsafe.Add(ref pad, 4 * V), kt);
            Copy(ref Unsafe.Add(ref b1, end), ref Unsafe.Add(ref pad, 5 * V), kt);
            Copy(ref Unsafe.Add(ref b2, end), ref Unsafe.Add(ref pad, 6 * V), kt);
            Copy(ref Unsafe.Add(ref b3, end), ref Unsafe.Add(ref pad, 7 * V), kt);
        }
        TV c00 = default, c10 = default, c20 = default, c30 = default;
        TV c01 = default, c11 = default, c21 = default, c31 = default;
        TV c02 = default, c12 = default, c22 = default, c32 = default;
        TV c03 = default, c13 = default, c23 = default, c33 = default;
        for (int j = 0; j < end; j += V)
        {
            var w_0 = TL.Load(ref a0, (nuint)j);
            var w_1 = TL.Load(ref a1, (nuint)j);
            var w_2 = TL.Load(ref a2, (nuint)j);
            var w_3 = TL.Load(ref a3, (nuint)j);
            var xv = TL.Load(ref b0, (nuint)j);
            c00 = TL.MulAdd(c00, w_0, xv); c10 = TL.MulAdd(c10, w_1, xv); c20 = TL.MulAdd(c20, w_2, xv); c30 = TL.MulAdd(c30, w_3, xv);
            xv = TL.Load(ref b1, (nuint)j);
            c01 = TL.MulAdd(c01, w_0, xv); c11 = TL.MulAdd(c11, w_1, xv); c21 = TL.MulAdd(c21, w_2, xv); c31 = TL.MulAdd(c31, w_3, xv);
            xv = TL.Load(ref b2, (nuint)j);
            c02 = TL.MulAdd(c02, w_0, xv); c12 = TL.MulAdd(c12, w_1, xv); c22 = TL.MulAdd(c22, w_2, xv); c32 = TL.MulAdd(c32, w_3, xv);
            xv = TL.Load(ref b3, (nuint)j);
            c03 = TL.MulAdd(c03, w_0, xv); c13 = TL.MulAdd(c13, w_1, xv); c23 = TL.MulAdd(c23, w_2, xv); c33 = TL.MulAdd(c33, w_3, xv);
        }
        if (kt > 0)
        {
            // One more step over the zero-padded tail buffers.
            var w_0 = TL.Load(ref pad, 0);
            var w_1 = TL.Load(ref pad, (nuint)V);
            var w_2 = TL.Load(ref pad, (nuint)(2 * V));
            var w_3 = TL.Load(ref pad, (nuint)(3 * V));
            var xv = TL.Load(ref pad, (nuint)(4 * V));
            c00 = TL.MulAdd(c00, w_0, xv); c10 = TL.MulAdd(c10, w_1, xv); c20 = TL.MulAdd(c20, w_2, xv); c30 = TL.MulAdd(c30, w_3, xv);
            xv = TL.Load(ref pad, (nuint)(5 * V));
            c01 = TL.MulAdd(c01, w_0, xv); c11 = TL.MulAdd(c11, w_1, xv); c21 = TL.MulAdd(c21, w_2, xv); c31 = TL.MulAdd(c31, w_3, xv);
            xv = TL.Load(ref pad, (nuint)(6 * V));
            c02 = TL.MulAdd(c02, w_0, xv); c12 = TL.MulAdd(c12, w_1, xv); c22 = TL.MulAdd(c22, w_2, xv); c32 = TL.MulAdd(c32, w_3, xv);
            xv = TL.Load(ref pad, (nuint)(7 * V));
            c03 = TL.MulAdd(c03, w_0, xv); c13 = TL.MulAdd(c13, w_1, xv); c23 = TL.MulAdd(c23, w_2, xv); c33 = TL.MulAdd(c33, w_3, xv);
        }
        int mr = Math.Min(MR, rows - i), nr = Math.Min(4, n - s);
        ref float d = ref Unsafe.Add(ref y0, (nint)s * rows + i);
        Store(TL.Sum4(c00, c10, c20, c30), ref d, mr);
        if (nr > 1) Store(TL.Sum4(c01, c11, c21, c31), ref Unsafe.Add(ref d, rows), mr);
        if (nr > 2) Store(TL.Sum4(c02, c12, c22, c32), ref Unsafe.Add(ref d, 2 * rows), mr);
        if (nr > 3) Store(TL.Sum4(c03, c13, c23, c33), ref Unsafe.Add(ref d, 3 * rows), mr);
    }

    private static void Tile4x2<TV, TL>(ref float w0, ref float x0, ref float y0, ref float pad, int i, int s, int rows, int k, int n)
        where TV : struct where TL : struct, IF32Lanes<TV>
    {
        int V = TL.Width;
        int last = rows - 1;
        ref float a0 = ref Unsafe.Add(ref w0, (nint)i * k);
        ref float a1 = ref Unsafe.Add(ref w0, (nint)Math.Min(i + 1, last) * k);
        ref float a2 = ref Unsafe.Add(ref w0, (nint)Math.Min(i + 2, last) * k);
        ref float a3 = ref Unsafe.Add(ref w0, (nint)Math.Min(i + 3, last) * k);
        ref float b0 = ref Unsafe.Add(ref x0, (nint)s * k);
        ref float b1 = ref Unsafe.Add(ref x0, (nint)Math.Min(s + 1, n - 1) * k);
        int kt = k % V, end = k - kt;
        // The k tail first (a call, so no accumulator is live across it): the last kt columns of each row
        // and input vector into zero-padded V-wide buffers.
        if (kt > 0)
        {
            Copy(ref Unsafe.Add(ref a0, end), ref pad, kt);
            Copy(ref Unsafe.Add(ref a1, end), ref Unsafe.Add(ref pad, V), kt);
            Copy(ref Unsafe.Add(ref a2, end), ref Unsafe.Add(ref pad, 2 * V), kt);
            Copy(ref Unsafe.Add(ref a3, end), ref Unsafe.Add(ref pad, 3 * V), kt);
            Copy(ref Unsafe.Add(ref b0, end), ref Unsafe.Add(ref pad, 4 * V), kt);
            Copy(ref Unsafe.Add(ref b1, end), ref Unsafe.Add(ref pad, 5 * V), kt);
        }
        TV c00 = default, c10 = default, c20 = default, c30 = default;
        TV c01 = default, c11 = default, c21 = default, c31 = default;
        for (int j = 0; j < end; j += V)
        {
            var w_0 = TL.Load(ref a0, (nuint)j);
            var w_1 = TL.Load(ref a1, (nuint)j);
            var w_2 = TL.Load(ref a2, (nuint)j);
            var w_3 = TL.Load(ref a3, (nuint)j);
            var xv = TL.Load(ref b0, (nuint)j);
            c00 = TL.MulAdd(c00, w_0, xv); c10 = TL.MulAdd(c10, w_1, xv); c20 = TL.MulAdd(c20, w_2, xv); c30 = TL.MulAdd(c30, w_3, xv);
            xv = TL.Load(ref b1, (nuint)j);
            c01 = TL.MulAdd(c01, w_0, xv); c11 = TL.MulAdd(c11, w_1, xv); c21 = TL.MulAdd(c21, w_2, xv); c31 = TL.MulAdd(c31, w_3, xv);
        }
        if (kt > 0)
        {
            // One more step over the zero-padded tail buffers.
            var w_0 = TL.Load(ref pad, 0);
            var w_1 = TL.Load(ref pad, (nuint)V);
            var w_2 = TL.Load(ref pad, (nuint)(2 * V));
            var w_3 = TL.Load(ref pad, (nuint)(3 * V));
            var xv = TL.Load(ref pad, (nuint)(4 * V));
            c00 = TL.MulAdd(c00, w_0, xv); c10 = TL.MulAdd(c10, w_1, xv); c20 = TL.MulAdd(c20, w_2, xv); c30 = TL.MulAdd(c30, w_3, xv);
            xv = TL.Load(ref pad, (nuint)(5 * V));
            c01 = TL.MulAdd(c01, w_0, xv); c11 = TL.MulAdd(c11, w_1, xv); c21 = TL.MulAdd(c21, w_2, xv); c31 = TL.MulAdd(c31, w_3, xv);
        }
        int mr = Math.Min(MR, rows - i);
        ref float d = ref Unsafe.Add(ref y0, (nint)s * rows + i);
        Store(TL.Sum4(c00, c10, c20, c30), ref d, mr);
        if (s + 1 < n) Store(TL.Sum4(c01, c11, c21, c31), ref Unsafe.Add(ref d, rows), mr);
    }

    /// <summary>4 consecutive outputs of one input vector, or the first mr of them at the last row tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector128<float> v, ref float d, int mr)
    {
        if (mr == MR) { v.StoreUnsafe(ref d); return; }
        d = v.GetElement(0);
        if (mr > 1) Unsafe.Add(ref d, 1) = v.GetElement(1);
        if (mr > 2) Unsafe.Add(ref d, 2) = v.GetElement(2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(ref float src, ref float dst, int count) =>
        Unsafe.CopyBlockUnaligned(ref Unsafe.As<float, byte>(ref dst), ref Unsafe.As<float, byte>(ref src), (uint)count * sizeof(float));
}
