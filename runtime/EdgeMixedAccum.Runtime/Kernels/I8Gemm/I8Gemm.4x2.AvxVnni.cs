using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// AVX-VNNI (VEX, 256-bit), 4 rows x 2 vectors x 32 columns per step: 8 ymm accumulators + 4 w + 1 x + the
/// bias constant = 14 of the 16 ymm registers VEX can name; each loaded w row feeds two vectors, each biased x
/// vector four rows. VPDPBUSD needs an unsigned first operand, so x is biased instead of sign-moved (the GEMV's
/// VPSIGNB would cost one instruction per (row, vector) pair here): u = x XOR 0x80 = x + 128 in [1, 255] as
/// unsigned bytes, then sum_j u_j*w_j = dot + 128*rowsum(w), and the kernel subtracts 128*rowsum(w) over the
/// same columns (the rowsum comes from VPDPBUSD of 0x01 bytes by w, once per row block, shared by all vectors).
/// Exactness: VPDPBUSD (non-S form) adds four products (|.| &lt;= 4*255*127) straight into int32 and wraps;
/// the biased total may pass int32 for very large k, but every step is a wrapping int32 add, the result is
/// right modulo 2^32 and the true dot fits int32 for k &lt;= MaxK, so it is exact for all inputs in [-127, 127].
/// Contract: no alignment needed; any rows/k/n including 0. Row blocks of 4 take the 4x2 tile over vector
/// pairs and a 4x1 loop over an odd last vector; rows past the last multiple of 4 take a 1x1 loop. Columns:
/// full 32-column steps, then, when k % 32 != 0 and k &gt;= 32, one more step over the last 32 columns
/// [k-32, k) whose already-counted columns are zeroed by a mask in both the biased x (u = 0 adds nothing) and
/// the rowsum's 0x01 bytes (so the bias covers each column once); k &lt; 32 goes through the scalar tail,
/// unbiased. No load leaves its row or vector: reads stay in w[0, rows*k) and x[0, n*k), writes in dot[0, n*rows).
/// The row sums, the 4x1 and 1x1 loops and the step are shared with <see cref="I8Gemm4x4Avx512Vnni"/>.
/// </summary>
internal static class I8Gemm4x2AvxVnni
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
        for (; i + 4 <= rows && n > 0; i += 4)
        {
            ref sbyte r = ref Unsafe.Add(ref w0, (nint)i * k);
            var bias = RowSums4(ref r, k, c) << 7; // 128*rowsum(w) over the SIMD columns, wrapping
            int s = 0;
            for (; s + 2 <= n; s += 2)
                Tile4x2(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c, ref Unsafe.Add(ref d0, (nint)s * rows + i), rows, bias);
            for (; s < n; s++)
                Tile4x1(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c, ref Unsafe.Add(ref d0, (nint)s * rows + i), bias);
        }
        for (; i < rows; i++)
        {
            ref sbyte r = ref Unsafe.Add(ref w0, (nint)i * k);
            for (int s = 0; s < n; s++)
                Unsafe.Add(ref d0, (nint)s * rows + i) = Tile1x1(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c);
        }
    }

    /// <summary>x + 128 as unsigned bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> LoadBiased(ref sbyte p, nuint j) => Vector256.LoadUnsafe(ref p, j).AsByte() ^ Vector256.Create((byte)0x80);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> LoadBiasedMasked(ref sbyte p, nuint j, Vector256<sbyte> mask) => LoadBiased(ref p, j) & mask.AsByte();

    /// <summary>One biased x vector against four w rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Step4(ref Vector256<int> a0, ref Vector256<int> a1, ref Vector256<int> a2, ref Vector256<int> a3,
        Vector256<sbyte> w0, Vector256<sbyte> w1, Vector256<sbyte> w2, Vector256<sbyte> w3, Vector256<byte> u)
    {
        a0 = AvxVnni.MultiplyWideningAndAdd(a0, u, w0);
        a1 = AvxVnni.MultiplyWideningAndAdd(a1, u, w1);
        a2 = AvxVnni.MultiplyWideningAndAdd(a2, u, w2);
        a3 = AvxVnni.MultiplyWideningAndAdd(a3, u, w3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<sbyte> Load(ref sbyte p, nuint j) => Vector256.LoadUnsafe(ref p, j);

    /// <summary>rowsum(w) of four rows over exactly the columns the SIMD steps cover.</summary>
    internal static Vector128<int> RowSums4(ref sbyte r0, int k, I8GemmX86.Cols c)
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        var one = Vector256.Create((byte)1);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (nuint j = 0, full = c.Full; j < full; j += W)
            Step4(ref a0, ref a1, ref a2, ref a3, Load(ref r0, j), Load(ref r1, j), Load(ref r2, j), Load(ref r3, j), one);
        if (c.Masked)
        {
            nuint j = c.Last;
            Step4(ref a0, ref a1, ref a2, ref a3, Load(ref r0, j), Load(ref r1, j), Load(ref r2, j), Load(ref r3, j), one & c.Mask.AsByte());
        }
        return I8GemmX86.Reduce4(a0, a1, a2, a3);
    }

    private static void Tile4x2(ref sbyte r0, ref sbyte v0, int k, I8GemmX86.Cols c, ref int d, int rows, Vector128<int> bias)
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        ref sbyte v1 = ref Unsafe.Add(ref v0, k);
        Vector256<int> a00 = default, a10 = default, a20 = default, a30 = default;
        Vector256<int> a01 = default, a11 = default, a21 = default, a31 = default;
        for (nuint j = 0, full = c.Full; j < full; j += W)
        {
            Vector256<sbyte> w0 = Load(ref r0, j), w1 = Load(ref r1, j), w2 = Load(ref r2, j), w3 = Load(ref r3, j);
            Step4(ref a00, ref a10, ref a20, ref a30, w0, w1, w2, w3, LoadBiased(ref v0, j));
            Step4(ref a01, ref a11, ref a21, ref a31, w0, w1, w2, w3, LoadBiased(ref v1, j));
        }
        if (c.Masked)
        {
            nuint j = c.Last;
            Vector256<sbyte> w0 = Load(ref r0, j), w1 = Load(ref r1, j), w2 = Load(ref r2, j), w3 = Load(ref r3, j);
            Step4(ref a00, ref a10, ref a20, ref a30, w0, w1, w2, w3, LoadBiasedMasked(ref v0, j, c.Mask));
            Step4(ref a01, ref a11, ref a21, ref a31, w0, w1, w2, w3, LoadBiasedMasked(ref v1, j, c.Mask));
        }
        (I8GemmX86.Reduce4(a00, a10, a20, a30) - bias + I8GemmX86.Tails4(ref r0, ref v0, c.Scalar, k)).StoreUnsafe(ref d);
        (I8GemmX86.Reduce4(a01, a11, a21, a31) - bias + I8GemmX86.Tails4(ref r0, ref v1, c.Scalar, k)).StoreUnsafe(ref Unsafe.Add(ref d, rows));
    }

    internal static void Tile4x1(ref sbyte r0, ref sbyte v, int k, I8GemmX86.Cols c, ref int d, Vector128<int> bias)
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (nuint j = 0, full = c.Full; j < full; j += W)
            Step4(ref a0, ref a1, ref a2, ref a3, Load(ref r0, j), Load(ref r1, j), Load(ref r2, j), Load(ref r3, j), LoadBiased(ref v, j));
        if (c.Masked)
        {
            nuint j = c.Last;
            Step4(ref a0, ref a1, ref a2, ref a3, Load(ref r0, j), Load(ref r1, j), Load(ref r2, j), Load(ref r3, j), LoadBiasedMasked(ref v, j, c.Mask));
        }
        (I8GemmX86.Reduce4(a0, a1, a2, a3) - bias + I8GemmX86.Tails4(ref r0, ref v, c.Scalar, k)).StoreUnsafe(ref d);
    }

    internal static int Tile1x1(ref sbyte r, ref sbyte v, int k, I8GemmX86.Cols c)
    {
        var one = Vector256.Create((byte)1);
        Vector256<int> a = default, b = default;
        for (nuint j = 0, full = c.Full; j < full; j += W)
        {
            var wv = Load(ref r, j);
            a = AvxVnni.MultiplyWideningAndAdd(a, LoadBiased(ref v, j), wv);
            b = AvxVnni.MultiplyWideningAndAdd(b, one, wv);
        }
        if (c.Masked)
        {
            var wv = Load(ref r, c.Last);
            a = AvxVnni.MultiplyWideningAndAdd(a, LoadBiasedMasked(ref v, c.Last, c.Mask), wv);
            b = AvxVnni.MultiplyWideningAndAdd(b, one & c.Mask.AsByte(), wv);
        }
        return Vector256.Sum(a) - (Vector256.Sum(b) << 7) + I8GemmScalar.Tail(ref r, ref v, c.Scalar, k);
    }
}
