using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// AVX-VNNI (VEX, 256-bit), 4 rows x 2 vectors x 32 columns per step: 8 ymm accumulators + 4 w + 1 x + the
/// bias constant = 14 of the 16 ymm registers VEX can name; each loaded w row feeds two vectors, each biased x
/// vector four rows. VPDPBUSD needs an unsigned first operand, so x is biased instead of sign-moved (the GEMV's
/// VPSIGNB would cost one instruction per (row, vector) pair here): u = x XOR 0x80 = x + 128 in [1, 255] as
/// unsigned bytes, then sum_j u_j*w_j = dot + 128*rowsum(w), and the tile sweep subtracts 128*rowsum(w) over
/// the same columns (the rowsum comes from VPDPBUSD of 0x01 bytes by w, once per row block, shared by all
/// vectors; alongside the loop in the 1x1).
/// Exactness: VPDPBUSD (non-S form) adds four products (|.| &lt;= 4*255*127) straight into int32 and wraps;
/// the biased total may pass int32 for very large k, but every step is a wrapping int32 add, the result is
/// right modulo 2^32 and the true dot fits int32 for k &lt;= MaxK, so it is exact for all inputs in [-127, 127].
/// Contract: as <see cref="I8Gemm4xNX86Tile"/> (4x2 tile), whose sweep this kernel plugs its step into, with
/// 32-column steps: full steps, then, when k % 32 != 0 and k &gt;= 32, one more step over the last 32 columns
/// [k-32, k) whose already-counted columns are zeroed by a mask in both the biased x (u = 0 adds nothing) and
/// the rowsum's 0x01 bytes (so the bias covers each column once); k &lt; 32 goes through the scalar tail,
/// unbiased. No load leaves its row or vector: reads stay in w[0, rows*k) and x[0, n*k), writes in dot[0, n*rows).
/// The step <see cref="Op"/> is shared with <see cref="I8Gemm4x4Avx512Vnni"/>.
/// </summary>
internal static class I8Gemm4x2AvxVnni
{
    public static void Run(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, int rows, int k, int n)
        => I8Gemm4xNX86Tile.Run4x2<Op, Vector256<sbyte>, Vector256<byte>, Vector256<int>>(w, x, dot, rows, k, n);

    /// <summary>VPDPBUSD of biased x by w, 32 columns.</summary>
    internal struct Op : I8Gemm4xNX86Tile.IStep<Vector256<sbyte>, Vector256<byte>, Vector256<int>>
    {
        public static int Width => 32;
        public static bool Biased => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<sbyte> LoadW(ref sbyte p, nuint j) => Vector256.LoadUnsafe(ref p, j);

        /// <summary>x + 128 as unsigned bytes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> LoadX(ref sbyte p, nuint j) => Vector256.LoadUnsafe(ref p, j).AsByte() ^ Vector256.Create((byte)0x80);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> LoadX(ref sbyte p, nuint j, Vector256<sbyte> mask) => LoadX(ref p, j) & mask.AsByte();

        /// <summary>0x01 bytes inside the mask: VPDPBUSD of them by w gives rowsum(w).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> One(Vector256<sbyte> mask) => Vector256.Create((byte)1) & mask.AsByte();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Madd(Vector256<int> a, Vector256<sbyte> w, Vector256<byte> u) => AvxVnni.MultiplyWideningAndAdd(a, u, w);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Reduce4(Vector256<int> a0, Vector256<int> a1, Vector256<int> a2, Vector256<int> a3) => I8GemmX86.Reduce4(a0, a1, a2, a3);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Sum(Vector256<int> a) => Vector256.Sum(a);
    }
}
