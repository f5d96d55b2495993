using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The row loop shared by the SIMD f32-gemv-rows variants, generic over the ISA's <see cref="IF32Lanes{TV}"/>
/// (the same struct the ISA's f32-gemm variant runs on): 8 listed rows per step, then one step of 4 if four
/// remain; per step of V columns one x load and 8 (4) w loads feed 8 (4) independent accumulators, one per row, so
/// the multiply-add latency is spread over rows instead of partial sums of one row, and one x load serves eight
/// rows (the batch-1 fp32 GEMV and the adaptive recompute run here; docs/performance.md). The 8-row steps are a
/// method of their own: inlined into Run, their live refs and vectors cost the 4-row loop its registers on x64
/// (the batch-1 fp32 GEMV ran 8-13% slower there).
/// Order, that of the f32-gemm tile (F32GemmTile) for every row, wherever it sits in the list: one
/// accumulator of V lanes per row; step j (multiples of V) adds column j + l to lane l (TL.MulAdd); the last
/// k mod V columns, copied into zero-padded V-wide stack buffers (x's tail once per call, each row's tail per
/// row), are one more TL.MulAdd step; then the horizontal sum TL.Sum4 for 4 rows at once. The last
/// rows.Length mod 4 rows go one at a time in the same order (TL.Sum). Each row's order is the same in every
/// block, so the block a row falls in never changes its bits.
/// Contract: no alignment needed; any k (0 gives 0) and row list (empty, unordered, repeats); each listed row
/// is checked to lie inside w before its loads, so reads stay in w[row*k, row*k + k) and x[0, k), and writes
/// in y[0, rows.Length).
/// </summary>
internal static class F32GemvRowsTile
{
    private const int MR = 4, MR8 = 8;

    public static void Run<TV, TL>(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> rows, Span<float> y, int k)
        where TV : struct where TL : struct, IF32Lanes<TV>
    {
        F32GemvRowsFamily.Check(x, rows, y, k);
        if (rows.Length == 0) return;
        Span<float> pad = stackalloc float[(MR8 + 1) * TL.Width];
        int kt = k % TL.Width, end = k - kt;
        if (kt != 0) pad.Clear(); // lanes past k mod V stay zero for the whole call (no tail: never read)
        ref float w0 = ref MemoryMarshal.GetReference(w);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float p0 = ref MemoryMarshal.GetReference(pad);
        ref float xt = ref Unsafe.Add(ref p0, MR8 * TL.Width);
        F32GemvRowsFamily.Copy(ref Unsafe.Add(ref xr, end), ref xt, kt);
        // Eight rows per step where there are eight and a vector step to share (short rows are all tail: four do).
        int r = rows.Length < MR8 || end == 0 ? 0 : Rows8<TV, TL>(w, rows, ref w0, ref xr, ref yr, ref p0, ref xt, k, kt, end);
        for (; r + MR <= rows.Length; r += MR)
        {
            int i0 = rows[r], i1 = rows[r + 1], i2 = rows[r + 2], i3 = rows[r + 3];
            F32GemvRowsFamily.CheckRow(i0, k, w.Length);
            F32GemvRowsFamily.CheckRow(i1, k, w.Length);
            F32GemvRowsFamily.CheckRow(i2, k, w.Length);
            F32GemvRowsFamily.CheckRow(i3, k, w.Length);
            ref float a0 = ref Unsafe.Add(ref w0, (nint)i0 * k);
            ref float a1 = ref Unsafe.Add(ref w0, (nint)i1 * k);
            ref float a2 = ref Unsafe.Add(ref w0, (nint)i2 * k);
            ref float a3 = ref Unsafe.Add(ref w0, (nint)i3 * k);
            TV c0 = default, c1 = default, c2 = default, c3 = default;
            for (int j = 0; j < end; j += TL.Width)
            {
                var xv = TL.Load(ref xr, (nuint)j);
                c0 = TL.MulAdd(c0, TL.Load(ref a0, (nuint)j), xv);
                c1 = TL.MulAdd(c1, TL.Load(ref a1, (nuint)j), xv);
                c2 = TL.MulAdd(c2, TL.Load(ref a2, (nuint)j), xv);
                c3 = TL.MulAdd(c3, TL.Load(ref a3, (nuint)j), xv);
            }
            if (kt != 0)
            {
                // The k tail: the last kt columns of each row into zero-padded V-wide buffers, one more step.
                F32GemvRowsFamily.Copy(ref Unsafe.Add(ref a0, end), ref p0, kt);
                F32GemvRowsFamily.Copy(ref Unsafe.Add(ref a1, end), ref Unsafe.Add(ref p0, (nuint)TL.Width), kt);
                F32GemvRowsFamily.Copy(ref Unsafe.Add(ref a2, end), ref Unsafe.Add(ref p0, (nuint)(2 * TL.Width)), kt);
                F32GemvRowsFamily.Copy(ref Unsafe.Add(ref a3, end), ref Unsafe.Add(ref p0, (nuint)(3 * TL.Width)), kt);
                var xv = TL.Load(ref xt, 0);
                c0 = TL.MulAdd(c0, TL.Load(ref p0, 0), xv);
                c1 = TL.MulAdd(c1, TL.Load(ref p0, (nuint)TL.Width), xv);
                c2 = TL.MulAdd(c2, TL.Load(ref p0, (nuint)(2 * TL.Width)), xv);
                c3 = TL.MulAdd(c3, TL.Load(ref p0, (nuint)(3 * TL.Width)), xv);
            }
            TL.Sum4(c0, c1, c2, c3).StoreUnsafe(ref yr, (nuint)r);
        }
        for (; r < rows.Length; r++)
        {
            int i0 = rows[r];
            F32GemvRowsFamily.CheckRow(i0, k, w.Length);
            ref float a0 = ref Unsafe.Add(ref w0, (nint)i0 * k);
            TV c0 = default;
            for (int j = 0; j < end; j += TL.Width)
                c0 = TL.MulAdd(c0, TL.Load(ref a0, (nuint)j), TL.Load(ref xr, (nuint)j));
            if (kt != 0)
            {
                F32GemvRowsFamily.Copy(ref Unsafe.Add(ref a0, end), ref p0, kt);
                c0 = TL.MulAdd(c0, TL.Load(ref p0, 0), TL.Load(ref xt, 0));
            }
            Unsafe.Add(ref yr, r) = TL.Sum(c0);
        }
    }

    /// <summary>The 8-row steps (not inlined: see the class remarks); returns the number of rows done.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Rows8<TV, TL>(ReadOnlySpan<float> w, ReadOnlySpan<int> rows, ref float w0, ref float xr, ref float yr, ref float p0, ref float xt,
        int k, int kt, int end)
        where TV : struct where TL : struct, IF32Lanes<TV>
    {
        int r = 0;
        for (; r + MR8 <= rows.Length; r += MR8)
        {
            ref float a0 = ref RowAt(ref w0, rows[r], k, w.Length);
            ref float a1 = ref RowAt(ref w0, rows[r + 1], k, w.Length);
            ref float a2 = ref RowAt(ref w0, rows[r + 2], k, w.Length);
            ref float a3 = ref RowAt(ref w0, rows[r + 3], k, w.Length);
            ref float a4 = ref RowAt(ref w0, rows[r + 4], k, w.Length);
            ref float a5 = ref RowAt(ref w0, rows[r + 5], k, w.Length);
            ref float a6 = ref RowAt(ref w0, rows[r + 6], k, w.Length);
            ref float a7 = ref RowAt(ref w0, rows[r + 7], k, w.Length);
            TV c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
            for (int j = 0; j < end; j += TL.Width)
            {
                var xv = TL.Load(ref xr, (nuint)j);
                c0 = TL.MulAdd(c0, TL.Load(ref a0, (nuint)j), xv);
                c1 = TL.MulAdd(c1, TL.Load(ref a1, (nuint)j), xv);
                c2 = TL.MulAdd(c2, TL.Load(ref a2, (nuint)j), xv);
                c3 = TL.MulAdd(c3, TL.Load(ref a3, (nuint)j), xv);
                c4 = TL.MulAdd(c4, TL.Load(ref a4, (nuint)j), xv);
                c5 = TL.MulAdd(c5, TL.Load(ref a5, (nuint)j), xv);
                c6 = TL.MulAdd(c6, TL.Load(ref a6, (nuint)j), xv);
                c7 = TL.MulAdd(c7, TL.Load(ref a7, (nuint)j), xv);
            }
            if (kt != 0)
            {
                // The k tail as in the 4-row step below: eight zero-padded V-wide row tails, one more step.
                var xv = TL.Load(ref xt, 0);
                c0 = TailStep<TV, TL>(c0, ref a0, end, kt, ref p0, 0, xv);
                c1 = TailStep<TV, TL>(c1, ref a1, end, kt, ref p0, 1, xv);
                c2 = TailStep<TV, TL>(c2, ref a2, end, kt, ref p0, 2, xv);
                c3 = TailStep<TV, TL>(c3, ref a3, end, kt, ref p0, 3, xv);
                c4 = TailStep<TV, TL>(c4, ref a4, end, kt, ref p0, 4, xv);
                c5 = TailStep<TV, TL>(c5, ref a5, end, kt, ref p0, 5, xv);
                c6 = TailStep<TV, TL>(c6, ref a6, end, kt, ref p0, 6, xv);
                c7 = TailStep<TV, TL>(c7, ref a7, end, kt, ref p0, 7, xv);
            }
            TL.Sum4(c0, c1, c2, c3).StoreUnsafe(ref yr, (nuint)r);
            TL.Sum4(c4, c5, c6, c7).StoreUnsafe(ref yr, (nuint)(r + 4));
        }
        return r;
    }

    /// <summary>Row <paramref name="row"/> of w, checked to lie inside w first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float RowAt(ref float w0, int row, int k, int wLength)
    {
        F32GemvRowsFamily.CheckRow(row, k, wLength);
        return ref Unsafe.Add(ref w0, (nint)row * k);
    }

    /// <summary>One row's k tail: its last kt columns into pad slot <paramref name="slot"/> (zero past kt), one step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV TailStep<TV, TL>(TV c, ref float row, int end, int kt, ref float p0, int slot, TV xv)
        where TV : struct where TL : struct, IF32Lanes<TV>
    {
        ref float ps = ref Unsafe.Add(ref p0, (nuint)(slot * TL.Width));
        F32GemvRowsFamily.Copy(ref Unsafe.Add(ref row, end), ref ps, kt);
        return TL.MulAdd(c, TL.Load(ref ps, 0), xv);
    }
}
