using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// AVX-512BW, 4 rows x 4 vectors x 32 columns per step: 16 zmm accumulators + 4 w + 1 x, each loaded w row
/// used for four vectors and each x vector for four rows. .NET 10 has no 512-bit VPDPBUSD short of AVX10.2
/// (see <see cref="Isa.Avx512BW"/>), so both operands are sign-extended to int16 (VPMOVSXBW) and multiplied by
/// VPMADDWD (signed x signed, pairs into int32): no sign trick needed, exact for any int8 (a pair is at most
/// 2*128*128 = 32768 in magnitude, far inside int32), and with k &lt;= MaxK the int32 totals are exact. This
/// costs 2 instructions per 32 columns per (row, vector) pair, against 5 per 64 for VPMADDUBSW with x's sign
/// moved onto w pair by pair (a GEMM cannot share the sign-moved w across vectors).
/// Contract: no alignment needed; any rows/k/n including 0. Row blocks of 4 take the 4x4 tile over vector
/// blocks of 4 and a 4x1 loop over the remaining vectors; rows past the last multiple of 4 take a 1x1 loop.
/// Columns: full 32-column steps, then, when k % 32 != 0 and k &gt;= 32, one more step over the last 32 columns
/// [k-32, k) with the x bytes already counted zeroed by a mask (so nothing is counted twice and no load starts
/// before a row or ends past it); k &lt; 32 goes through the scalar tail. Reads stay in w[0, rows*k) and
/// x[0, n*k), writes in dot[0, n*rows).
/// </summary>
internal static class I8Gemm4x4Avx512BW
{
    private const int W = 32;

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
            for (; s + 4 <= n; s += 4)
                Tile4x4(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c, ref Unsafe.Add(ref d0, (nint)s * rows + i), rows);
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
    private static Vector512<short> Load(ref sbyte p, nuint j) => Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref p, j));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> LoadMasked(ref sbyte p, nuint j, Vector256<sbyte> mask) => Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref p, j) & mask);

    /// <summary>One x vector against four loaded w rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step4(ref Vector512<int> a0, ref Vector512<int> a1, ref Vector512<int> a2, ref Vector512<int> a3,
        Vector512<short> w0, Vector512<short> w1, Vector512<short> w2, Vector512<short> w3, Vector512<short> xv)
    {
        a0 += Avx512BW.MultiplyAddAdjacent(w0, xv);
        a1 += Avx512BW.MultiplyAddAdjacent(w1, xv);
        a2 += Avx512BW.MultiplyAddAdjacent(w2, xv);
        a3 += Avx512BW.MultiplyAddAdjacent(w3, xv);
    }

    private static void Tile4x4(ref sbyte r0, ref sbyte v0, int k, I8GemmX86.Cols c, ref int d, int rows)
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        ref sbyte v1 = ref Unsafe.Add(ref v0, k), v2 = ref Unsafe.Add(ref v0, 2 * k), v3 = ref Unsafe.Add(ref v0, 3 * k);
        Vector512<int> a00 = default, a10 = default, a20 = default, a30 = default;
        Vector512<int> a01 = default, a11 = default, a21 = default, a31 = default;
        Vector512<int> a02 = default, a12 = default, a22 = default, a32 = default;
        Vector512<int> a03 = default, a13 = default, a23 = default, a33 = default;
        for (nuint j = 0, full = c.Full; j < full; j += W)
        {
            Vector512<short> w0 = Load(ref r0, j), w1 = Load(ref r1, j), w2 = Load(ref r2, j), w3 = Load(ref r3, j);
            Step4(ref a00, ref a10, ref a20, ref a30, w0, w1, w2, w3, Load(ref v0, j));
            Step4(ref a01, ref a11, ref a21, ref a31, w0, w1, w2, w3, Load(ref v1, j));
            Step4(ref a02, ref a12, ref a22, ref a32, w0, w1, w2, w3, Load(ref v2, j));
            Step4(ref a03, ref a13, ref a23, ref a33, w0, w1, w2, w3, Load(ref v3, j));
        }
        if (c.Masked)
        {
            nuint j = c.Last;
            Vector512<short> w0 = Load(ref r0, j), w1 = Load(ref r1, j), w2 = Load(ref r2, j), w3 = Load(ref r3, j);
            Step4(ref a00, ref a10, ref a20, ref a30, w0, w1, w2, w3, LoadMasked(ref v0, j, c.Mask));
            Step4(ref a01, ref a11, ref a21, ref a31, w0, w1, w2, w3, LoadMasked(ref v1, j, c.Mask));
            Step4(ref a02, ref a12, ref a22, ref a32, w0, w1, w2, w3, LoadMasked(ref v2, j, c.Mask));
            Step4(ref a03, ref a13, ref a23, ref a33, w0, w1, w2, w3, LoadMasked(ref v3, j, c.Mask));
        }
        (I8GemmX86.Reduce4(a00, a10, a20, a30) + I8GemmX86.Tails4(ref r0, ref v0, c.Scalar, k)).StoreUnsafe(ref d);
        (I8GemmX86.Reduce4(a01, a11, a21, a31) + I8GemmX86.Tails4(ref r0, ref v1, c.Scalar, k)).StoreUnsafe(ref Unsafe.Add(ref d, rows));
        (I8GemmX86.Reduce4(a02, a12, a22, a32) + I8GemmX86.Tails4(ref r0, ref v2, c.Scalar, k)).StoreUnsafe(ref Unsafe.Add(ref d, 2 * rows));
        (I8GemmX86.Reduce4(a03, a13, a23, a33) + I8GemmX86.Tails4(ref r0, ref v3, c.Scalar, k)).StoreUnsafe(ref Unsafe.Add(ref d, 3 * rows));
    }

    private static void Tile4x1(ref sbyte r0, ref sbyte v, int k, I8GemmX86.Cols c, ref int d)
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default;
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
        Vector512<int> a = default;
        for (nuint j = 0, full = c.Full; j < full; j += W) a += Avx512BW.MultiplyAddAdjacent(Load(ref r, j), Load(ref v, j));
        if (c.Masked) a += Avx512BW.MultiplyAddAdjacent(Load(ref r, c.Last), LoadMasked(ref v, c.Last, c.Mask));
        return Vector512.Sum(a) + I8GemmScalar.Tail(ref r, ref v, c.Scalar, k);
    }
}
