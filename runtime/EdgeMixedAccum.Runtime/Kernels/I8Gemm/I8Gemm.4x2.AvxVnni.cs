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
/// same columns (the rowsum comes from VPDPBUSD of 0x01 bytes by w, once per row, shared by all vectors).
/// Exactness: VPDPBUSD (non-S form) adds four products (|.| &lt;= 4*255*127) straight into int32 and wraps;
/// the biased total may pass int32 for very large k, but every step is a wrapping int32 add, the result is
/// right modulo 2^32 and the true dot fits int32 for k &lt;= MaxK, so it is exact for all inputs in [-127, 127].
/// Contract: no alignment needed; any rows/k/n including 0. Row blocks of 4 take the 4x2 tile over vector
/// pairs and a 4x1 loop over an odd last vector; rows past the last multiple of 4 take a 1x1 loop; columns
/// past the last multiple of 32 go through the scalar tail unbiased (no partial loads), so reads stay in
/// w[0, rows*k) and x[0, n*k) and writes in dot[0, n*rows).
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
        int kv = k - k % W;
        int i = 0;
        for (; i + 4 <= rows; i += 4)
        {
            ref sbyte r = ref Unsafe.Add(ref w0, (nint)i * k);
            if (n == 0) break;
            var bias = RowSums4(ref r, k, kv) << 7; // 128*rowsum(w) over [0, kv), wrapping
            int s = 0;
            for (; s + 2 <= n; s += 2)
                Tile4x2(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, kv, ref Unsafe.Add(ref d0, (nint)s * rows + i), rows, bias);
            for (; s < n; s++)
                Tile4x1(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, kv, ref Unsafe.Add(ref d0, (nint)s * rows + i), bias);
        }
        for (; i < rows; i++)
        {
            ref sbyte r = ref Unsafe.Add(ref w0, (nint)i * k);
            for (int s = 0; s < n; s++)
                Unsafe.Add(ref d0, (nint)s * rows + i) = Tile1x1(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, kv);
        }
    }

    /// <summary>x + 128 as unsigned bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> LoadBiased(ref sbyte p, nuint j) => Vector256.LoadUnsafe(ref p, j).AsByte() ^ Vector256.Create((byte)0x80);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dp(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s) => AvxVnni.MultiplyWideningAndAdd(acc, u, s);

    private static Vector128<int> RowSums4(ref sbyte r0, int k, int kv)
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        var one = Vector256.Create((byte)1);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (nuint j = 0; j < (nuint)kv; j += W)
        {
            a0 = Dp(a0, one, Vector256.LoadUnsafe(ref r0, j)); a1 = Dp(a1, one, Vector256.LoadUnsafe(ref r1, j));
            a2 = Dp(a2, one, Vector256.LoadUnsafe(ref r2, j)); a3 = Dp(a3, one, Vector256.LoadUnsafe(ref r3, j));
        }
        return I8GemmX86.Reduce4(a0, a1, a2, a3);
    }

    private static void Tile4x2(ref sbyte r0, ref sbyte v0, int k, int kv, ref int d, int rows, Vector128<int> bias)
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        ref sbyte v1 = ref Unsafe.Add(ref v0, k);
        Vector256<int> a00 = default, a10 = default, a20 = default, a30 = default;
        Vector256<int> a01 = default, a11 = default, a21 = default, a31 = default;
        for (nuint j = 0; j < (nuint)kv; j += W)
        {
            var w0 = Vector256.LoadUnsafe(ref r0, j);
            var w1 = Vector256.LoadUnsafe(ref r1, j);
            var w2 = Vector256.LoadUnsafe(ref r2, j);
            var w3 = Vector256.LoadUnsafe(ref r3, j);
            var u = LoadBiased(ref v0, j);
            a00 = Dp(a00, u, w0); a10 = Dp(a10, u, w1); a20 = Dp(a20, u, w2); a30 = Dp(a30, u, w3);
            u = LoadBiased(ref v1, j);
            a01 = Dp(a01, u, w0); a11 = Dp(a11, u, w1); a21 = Dp(a21, u, w2); a31 = Dp(a31, u, w3);
        }
        (I8GemmX86.Reduce4(a00, a10, a20, a30) - bias + I8GemmX86.Tails4(ref r0, ref v0, kv, k)).StoreUnsafe(ref d);
        (I8GemmX86.Reduce4(a01, a11, a21, a31) - bias + I8GemmX86.Tails4(ref r0, ref v1, kv, k)).StoreUnsafe(ref Unsafe.Add(ref d, rows));
    }

    private static void Tile4x1(ref sbyte r0, ref sbyte v, int k, int kv, ref int d, Vector128<int> bias)
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (nuint j = 0; j < (nuint)kv; j += W)
        {
            var u = LoadBiased(ref v, j);
            a0 = Dp(a0, u, Vector256.LoadUnsafe(ref r0, j)); a1 = Dp(a1, u, Vector256.LoadUnsafe(ref r1, j));
            a2 = Dp(a2, u, Vector256.LoadUnsafe(ref r2, j)); a3 = Dp(a3, u, Vector256.LoadUnsafe(ref r3, j));
        }
        (I8GemmX86.Reduce4(a0, a1, a2, a3) - bias + I8GemmX86.Tails4(ref r0, ref v, kv, k)).StoreUnsafe(ref d);
    }

    private static int Tile1x1(ref sbyte r, ref sbyte v, int k, int kv)
    {
        var one = Vector256.Create((byte)1);
        Vector256<int> a = default, b = default;
        for (nuint j = 0; j < (nuint)kv; j += W)
        {
            var wv = Vector256.LoadUnsafe(ref r, j);
            a = Dp(a, LoadBiased(ref v, j), wv);
            b = Dp(b, one, wv);
        }
        return Vector256.Sum(a) - (Vector256.Sum(b) << 7) + I8GemmScalar.Tail(ref r, ref v, kv, k);
    }
}
