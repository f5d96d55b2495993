using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// AVX2, 4 rows x 2 vectors x 16 columns per step: 8 ymm accumulators + 4 w + 1 x + 1 product = 14 of the 16
/// ymm registers, each loaded w row used for two vectors and each x vector for four rows. Both operands are
/// sign-extended to int16 (VPMOVSXBW) and multiplied by VPMADDWD (signed x signed, pairs into int32): no sign
/// trick, exact for any int8, int32 totals exact for k &lt;= MaxK.
/// Contract: no alignment needed; any rows/k/n including 0. Row blocks of 4 take the 4x2 tile over vector
/// pairs and a 4x1 loop over an odd last vector; rows past the last multiple of 4 take a 1x1 loop. Columns:
/// full 16-column steps, then, when k % 16 != 0 and k &gt;= 16, one more step over the last 16 columns
/// [k-16, k) with the x bytes already counted zeroed by a mask (nothing counted twice, no load outside its row
/// or vector); k &lt; 16 goes through the scalar tail. Reads stay in w[0, rows*k) and x[0, n*k), writes in
/// dot[0, n*rows).
/// </summary>
internal static class I8Gemm4x2Avx2
{
    private const int W = 16;

    public static void Run(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, int rows, int k, int n)
    {
        I8GemmFamily.Check(w, x, dot, rows, k, n);
        ref sbyte w0 = ref MemoryMarshal.GetReference(w);
        ref sbyte x0 = ref MemoryMarshal.GetReference(x);
        ref int d0 = ref MemoryMarshal.GetReference(dot);
        var c = new I8GemmX86.Cols(k, W);
        int i = 0;
        for (; i + 4 <= rows; i += 4)
        {
            ref sbyte r = ref Unsafe.Add(ref w0, (nint)i * k);
            int s = 0;
            for (; s + 2 <= n; s += 2)
                Tile4x2(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c, ref Unsafe.Add(ref d0, (nint)s * rows + i), rows);
            for (; s < n; s++)
                Tile4x1(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c, ref Unsafe.Add(ref d0, (nint)s * rows + i));
        }
        for (; i < rows; i++)
        {
            ref sbyte r = ref Unsafe.Add(ref w0, (nint)i * k);
            for (int s = 0; s < n; s++)
                Unsafe.Add(ref d0, (nint)s * rows + i) = Tile1x1(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Load(ref sbyte p, nuint j) => Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref p, j));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> LoadMasked(ref sbyte p, nuint j, Vector256<sbyte> mask) => Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref p, j) & mask.GetLower());

    /// <summary>One x vector against four loaded w rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step4(ref Vector256<int> a0, ref Vector256<int> a1, ref Vector256<int> a2, ref Vector256<int> a3,
        Vector256<short> w0, Vector256<short> w1, Vector256<short> w2, Vector256<short> w3, Vector256<short> xv)
    {
        a0 += Avx2.MultiplyAddAdjacent(w0, xv);
        a1 += Avx2.MultiplyAddAdjacent(w1, xv);
        a2 += Avx2.MultiplyAddAdjacent(w2, xv);
        a3 += Avx2.MultiplyAddAdjacent(w3, xv);
    }

    private static void Tile4x2(ref sbyte r0, ref sbyte v0, int k, I8GemmX86.Cols c, ref int d, int rows)
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        ref sbyte v1 = ref Unsafe.Add(ref v0, k);
        Vector256<int> a00 = default, a10 = default, a20 = default, a30 = default;
        Vector256<int> a01 = default, a11 = default, a21 = default, a31 = default;
        for (nuint j = 0, full = c.Full; j < full; j += W)
        {
            Vector256<short> w0 = Load(ref r0, j), w1 = Load(ref r1, j), w2 = Load(ref r2, j), w3 = Load(ref r3, j);
            Step4(ref a00, ref a10, ref a20, ref a30, w0, w1, w2, w3, Load(ref v0, j));
            Step4(ref a01, ref a11, ref a21, ref a31, w0, w1, w2, w3, Load(ref v1, j));
        }
        if (c.Masked)
        {
            nuint j = c.Last;
            Vector256<short> w0 = Load(ref r0, j), w1 = Load(ref r1, j), w2 = Load(ref r2, j), w3 = Load(ref r3, j);
            Step4(ref a00, ref a10, ref a20, ref a30, w0, w1, w2, w3, LoadMasked(ref v0, j, c.Mask));
            Step4(ref a01, ref a11, ref a21, ref a31, w0, w1, w2, w3, LoadMasked(ref v1, j, c.Mask));
        }
        (I8GemmX86.Reduce4(a00, a10, a20, a30) + I8GemmX86.Tails4(ref r0, ref v0, c.Scalar, k)).StoreUnsafe(ref d);
        (I8GemmX86.Reduce4(a01, a11, a21, a31) + I8GemmX86.Tails4(ref r0, ref v1, c.Scalar, k)).StoreUnsafe(ref Unsafe.Add(ref d, rows));
    }

    private static void Tile4x1(ref sbyte r0, ref sbyte v, int k, I8GemmX86.Cols c, ref int d)
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (nuint j = 0, full = c.Full; j < full; j += W)
            Step4(ref a0, ref a1, ref a2, ref a3, Load(ref r0, j), Load(ref r1, j), Load(ref r2, j), Load(ref r3, j), Load(ref v, j));
        if (c.Masked)
        {
            nuint j = c.Last;
            Step4(ref a0, ref a1, ref a2, ref a3, Load(ref r0, j), Load(ref r1, j), Load(ref r2, j), Load(ref r3, j), LoadMasked(ref v, j, c.Mask));
        }
        (I8GemmX86.Reduce4(a0, a1, a2, a3) + I8GemmX86.Tails4(ref r0, ref v, c.Scalar, k)).StoreUnsafe(ref d);
    }

    private static int Tile1x1(ref sbyte r, ref sbyte v, int k, I8GemmX86.Cols c)
    {
        Vector256<int> a = default;
        for (nuint j = 0, full = c.Full; j < full; j += W) a += Avx2.MultiplyAddAdjacent(Load(ref r, j), Load(ref v, j));
        if (c.Masked) a += Avx2.MultiplyAddAdjacent(Load(ref r, c.Last), LoadMasked(ref v, c.Last, c.Mask));
        return Vector256.Sum(a) + I8GemmScalar.Tail(ref r, ref v, c.Scalar, k);
    }
}
