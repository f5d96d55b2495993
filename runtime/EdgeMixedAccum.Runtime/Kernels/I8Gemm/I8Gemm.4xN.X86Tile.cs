using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The tile sweep shared by the x86 i8-gemm kernels, generic over the kernel's <see cref="IStep{TW, TX, TAcc}"/>
/// struct (static abstract members, so each instantiation is specialised by the JIT: no virtual calls, no
/// delegates in the loop). Two tile shapes from one tile body (the vector count is <see cref="IFour"/>): 4 rows x
/// 2 vectors (<see cref="Run4x2{TStep, TW, TX, TAcc}"/>, for 16 ymm registers) and 4 rows x 4 vectors
/// (<see cref="Run4x4{TStep, TW, TX, TAcc}"/>, for 32 EVEX registers); each loaded w row is used for every vector
/// of the tile and each x vector for four rows. An unbiased step gets a zero bias.
/// Contract: no alignment needed; any rows/k/n including 0. Row blocks of 4 take the tile over vector blocks of
/// 2 or 4 and a 4x1 loop over the remaining vectors; rows past the last multiple of 4 take a 1x1 loop. Columns
/// (<see cref="I8GemmX86.Cols"/>): full steps of the kernel's width, then, when k % width != 0 and k &gt;= width,
/// one more step over the last width columns [k-width, k) with the x bytes already counted zeroed by a mask
/// (nothing counted twice, no load outside its row or vector); k &lt; width goes through the scalar tail,
/// unbiased. A biased step (<see cref="IStep{TW, TX, TAcc}.Biased"/>) gets 128*rowsum(w) over exactly the SIMD
/// columns (its <see cref="IStep{TW, TX, TAcc}.One"/> bytes masked like x) subtracted, once per row block for
/// the tiles and alongside the loop for the 1x1. Reads stay in w[0, rows*k) and x[0, n*k), writes in
/// dot[0, n*rows). Wrapping int32 adds throughout.
/// </summary>
internal static class I8Gemm4xNX86Tile
{
    /// <summary>One step of one (row, vector) pair and its end-of-k reductions: the only part that differs
    /// between the ISAs. TW is a loaded w row, TX a loaded x vector, TAcc an int32 accumulator.</summary>
    public interface IStep<TW, TX, TAcc>
    {
        /// <summary>Columns per step: 16 or 32.</summary>
        static abstract int Width { get; }
        /// <summary>Whether x is loaded biased by +128 (then 128*rowsum(w) is subtracted).</summary>
        static abstract bool Biased { get; }
        static abstract TW LoadW(ref sbyte p, nuint j);
        static abstract TX LoadX(ref sbyte p, nuint j);
        /// <summary>x with the bytes outside the mask contributing nothing.</summary>
        static abstract TX LoadX(ref sbyte p, nuint j, Vector256<sbyte> mask);
        /// <summary>For a biased step, the TX whose products with w give rowsum(w) over the bytes in the mask.</summary>
        static abstract TX One(Vector256<sbyte> mask);
        static abstract TAcc Madd(TAcc a, TW w, TX x);
        /// <summary>[sum a0, sum a1, sum a2, sum a3].</summary>
        static abstract Vector128<int> Reduce4(TAcc a0, TAcc a1, TAcc a2, TAcc a3);
        static abstract int Sum(TAcc a);
    }

    /// <summary>The tile's vector count: 4 when On, else 2 (the <see cref="IAbsMode"/> pattern: a constant per
    /// instantiation, so the JIT drops the other shape's code and accumulators).</summary>
    public interface IFour { static abstract bool On { get; } }
    public struct Four : IFour { public static bool On => true; }
    public struct Two : IFour { public static bool On => false; }

    public static void Run4x2<TStep, TW, TX, TAcc>(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, int rows, int k, int n)
        where TStep : struct, IStep<TW, TX, TAcc> => Sweep<TStep, TW, TX, TAcc, Two>(w, x, dot, rows, k, n);

    public static void Run4x4<TStep, TW, TX, TAcc>(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, int rows, int k, int n)
        where TStep : struct, IStep<TW, TX, TAcc> => Sweep<TStep, TW, TX, TAcc, Four>(w, x, dot, rows, k, n);

    private static void Sweep<TStep, TW, TX, TAcc, TFour>(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, int rows, int k, int n)
        where TStep : struct, IStep<TW, TX, TAcc> where TFour : struct, IFour
    {
        I8GemmFamily.Check(w, x, dot, rows, k, n);
        ref sbyte w0 = ref MemoryMarshal.GetReference(w);
        ref sbyte x0 = ref MemoryMarshal.GetReference(x);
        ref int d0 = ref MemoryMarshal.GetReference(dot);
        var c = new I8GemmX86.Cols(k, TStep.Width);
        int i = 0;
        for (; i + 4 <= rows && n > 0; i += 4)
        {
            ref sbyte r = ref Unsafe.Add(ref w0, (nint)i * k);
            // 128*rowsum(w) over the SIMD columns, wrapping; zero for an unbiased step.
            var bias = TStep.Biased ? RowSums4<TStep, TW, TX, TAcc>(ref r, k, c) << 7 : Vector128<int>.Zero;
            int s = 0;
            for (int tileN = TFour.On ? 4 : 2; s + tileN <= n; s += tileN)
                Tile<TStep, TW, TX, TAcc, TFour>(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c, ref Unsafe.Add(ref d0, (nint)s * rows + i), rows, bias);
            for (; s < n; s++)
                Tile4x1<TStep, TW, TX, TAcc>(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c, ref Unsafe.Add(ref d0, (nint)s * rows + i), bias);
        }
        for (; i < rows; i++)
        {
            ref sbyte r = ref Unsafe.Add(ref w0, (nint)i * k);
            for (int s = 0; s < n; s++)
                Unsafe.Add(ref d0, (nint)s * rows + i) = Tile1x1<TStep, TW, TX, TAcc>(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c);
        }
    }

    /// <summary>One x vector against four loaded w rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step4<TStep, TW, TX, TAcc>(ref TAcc a0, ref TAcc a1, ref TAcc a2, ref TAcc a3, TW w0, TW w1, TW w2, TW w3, TX xv)
        where TStep : struct, IStep<TW, TX, TAcc>
    {
        a0 = TStep.Madd(a0, w0, xv);
        a1 = TStep.Madd(a1, w1, xv);
        a2 = TStep.Madd(a2, w2, xv);
        a3 = TStep.Madd(a3, w3, xv);
    }

    /// <summary>rowsum(w) of four rows over exactly the columns the SIMD steps cover (biased steps only).</summary>
    private static Vector128<int> RowSums4<TStep, TW, TX, TAcc>(ref sbyte r0, int k, I8GemmX86.Cols c)
        where TStep : struct, IStep<TW, TX, TAcc>
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        nuint step = (nuint)TStep.Width;
        TX one = TStep.One(Vector256<sbyte>.AllBitsSet);
        TAcc a0 = default!, a1 = default!, a2 = default!, a3 = default!;
        for (nuint j = 0, full = c.Full; j < full; j += step)
            Step4<TStep, TW, TX, TAcc>(ref a0, ref a1, ref a2, ref a3, TStep.LoadW(ref r0, j), TStep.LoadW(ref r1, j), TStep.LoadW(ref r2, j), TStep.LoadW(ref r3, j), one);
        if (c.Masked)
        {
            nuint j = c.Last;
            Step4<TStep, TW, TX, TAcc>(ref a0, ref a1, ref a2, ref a3, TStep.LoadW(ref r0, j), TStep.LoadW(ref r1, j), TStep.LoadW(ref r2, j), TStep.LoadW(ref r3, j), TStep.One(c.Mask));
        }
        return TStep.Reduce4(a0, a1, a2, a3);
    }

    /// <summary>The 4x4 tile (TFour) or the 4x2 tile: vectors 2 and 3 only when TFour.On.</summary>
    private static void Tile<TStep, TW, TX, TAcc, TFour>(ref sbyte r0, ref sbyte v0, int k, I8GemmX86.Cols c, ref int d, int rows, Vector128<int> bias)
        where TStep : struct, IStep<TW, TX, TAcc> where TFour : struct, IFour
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        ref sbyte v1 = ref Unsafe.Add(ref v0, k), v2 = ref Unsafe.Add(ref v0, 2 * k), v3 = ref Unsafe.Add(ref v0, 3 * k);
        nuint step = (nuint)TStep.Width;
        TAcc a00 = default!, a10 = default!, a20 = default!, a30 = default!;
        TAcc a01 = default!, a11 = default!, a21 = default!, a31 = default!;
        TAcc a02 = default!, a12 = default!, a22 = default!, a32 = default!;
        TAcc a03 = default!, a13 = default!, a23 = default!, a33 = default!;
        for (nuint j = 0, full = c.Full; j < full; j += step)
        {
            TW w0 = TStep.LoadW(ref r0, j), w1 = TStep.LoadW(ref r1, j), w2 = TStep.LoadW(ref r2, j), w3 = TStep.LoadW(ref r3, j);
            Step4<TStep, TW, TX, TAcc>(ref a00, ref a10, ref a20, ref a30, w0, w1, w2, w3, TStep.LoadX(ref v0, j));
            Step4<TStep, TW, TX, TAcc>(ref a01, ref a11, ref a21, ref a31, w0, w1, w2, w3, TStep.LoadX(ref v1, j));
            if (!TFour.On) continue;
            Step4<TStep, TW, TX, TAcc>(ref a02, ref a12, ref a22, ref a32, w0, w1, w2, w3, TStep.LoadX(ref v2, j));
            Step4<TStep, TW, TX, TAcc>(ref a03, ref a13, ref a23, ref a33, w0, w1, w2, w3, TStep.LoadX(ref v3, j));
        }
        if (c.Masked)
        {
            nuint j = c.Last;
            TW w0 = TStep.LoadW(ref r0, j), w1 = TStep.LoadW(ref r1, j), w2 = TStep.LoadW(ref r2, j), w3 = TStep.LoadW(ref r3, j);
            Step4<TStep, TW, TX, TAcc>(ref a00, ref a10, ref a20, ref a30, w0, w1, w2, w3, TStep.LoadX(ref v0, j, c.Mask));
            Step4<TStep, TW, TX, TAcc>(ref a01, ref a11, ref a21, ref a31, w0, w1, w2, w3, TStep.LoadX(ref v1, j, c.Mask));
            if (TFour.On)
            {
                Step4<TStep, TW, TX, TAcc>(ref a02, ref a12, ref a22, ref a32, w0, w1, w2, w3, TStep.LoadX(ref v2, j, c.Mask));
                Step4<TStep, TW, TX, TAcc>(ref a03, ref a13, ref a23, ref a33, w0, w1, w2, w3, TStep.LoadX(ref v3, j, c.Mask));
            }
        }
        (TStep.Reduce4(a00, a10, a20, a30) - bias + I8GemmScalar.Tails4(ref r0, ref v0, c.Scalar, k)).StoreUnsafe(ref d);
        (TStep.Reduce4(a01, a11, a21, a31) - bias + I8GemmScalar.Tails4(ref r0, ref v1, c.Scalar, k)).StoreUnsafe(ref Unsafe.Add(ref d, rows));
        if (!TFour.On) return;
        (TStep.Reduce4(a02, a12, a22, a32) - bias + I8GemmScalar.Tails4(ref r0, ref v2, c.Scalar, k)).StoreUnsafe(ref Unsafe.Add(ref d, 2 * rows));
        (TStep.Reduce4(a03, a13, a23, a33) - bias + I8GemmScalar.Tails4(ref r0, ref v3, c.Scalar, k)).StoreUnsafe(ref Unsafe.Add(ref d, 3 * rows));
    }

    private static void Tile4x1<TStep, TW, TX, TAcc>(ref sbyte r0, ref sbyte v, int k, I8GemmX86.Cols c, ref int d, Vector128<int> bias)
        where TStep : struct, IStep<TW, TX, TAcc>
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        nuint step = (nuint)TStep.Width;
        TAcc a0 = default!, a1 = default!, a2 = default!, a3 = default!;
        for (nuint j = 0, full = c.Full; j < full; j += step)
            Step4<TStep, TW, TX, TAcc>(ref a0, ref a1, ref a2, ref a3, TStep.LoadW(ref r0, j), TStep.LoadW(ref r1, j), TStep.LoadW(ref r2, j), TStep.LoadW(ref r3, j), TStep.LoadX(ref v, j));
        if (c.Masked)
        {
            nuint j = c.Last;
            Step4<TStep, TW, TX, TAcc>(ref a0, ref a1, ref a2, ref a3, TStep.LoadW(ref r0, j), TStep.LoadW(ref r1, j), TStep.LoadW(ref r2, j), TStep.LoadW(ref r3, j), TStep.LoadX(ref v, j, c.Mask));
        }
        (TStep.Reduce4(a0, a1, a2, a3) - bias + I8GemmScalar.Tails4(ref r0, ref v, c.Scalar, k)).StoreUnsafe(ref d);
    }

    private static int Tile1x1<TStep, TW, TX, TAcc>(ref sbyte r, ref sbyte v, int k, I8GemmX86.Cols c)
        where TStep : struct, IStep<TW, TX, TAcc>
    {
        nuint step = (nuint)TStep.Width;
        TX one = TStep.One(Vector256<sbyte>.AllBitsSet);
        TAcc a = default!, b = default!;
        for (nuint j = 0, full = c.Full; j < full; j += step)
        {
            TW wv = TStep.LoadW(ref r, j);
            a = TStep.Madd(a, wv, TStep.LoadX(ref v, j));
            if (TStep.Biased) b = TStep.Madd(b, wv, one);
        }
        if (c.Masked)
        {
            TW wv = TStep.LoadW(ref r, c.Last);
            a = TStep.Madd(a, wv, TStep.LoadX(ref v, c.Last, c.Mask));
            if (TStep.Biased) b = TStep.Madd(b, wv, TStep.One(c.Mask));
        }
        int bias = TStep.Biased ? TStep.Sum(b) << 7 : 0;
        return TStep.Sum(a) - bias + I8GemmScalar.Tail(ref r, ref v, c.Scalar, k);
    }
}
