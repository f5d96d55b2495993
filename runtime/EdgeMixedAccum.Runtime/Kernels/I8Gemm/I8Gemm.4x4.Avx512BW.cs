using System.Runtime.CompilerServices;
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
/// Contract: as <see cref="I8Gemm4xNX86Tile"/> (4x4 tile), whose sweep this kernel plugs its step into, with
/// 32-column steps: full steps, then, when k % 32 != 0 and k &gt;= 32, one step over [k-32, k) with the x bytes
/// already counted zeroed by a mask before the sign extension (so nothing is counted twice and no load starts
/// before a row or ends past it); k &lt; 32 goes through the scalar tail. Reads stay in w[0, rows*k) and
/// x[0, n*k), writes in dot[0, n*rows).
/// </summary>
internal static class I8Gemm4x4Avx512BW
{
    public static void Run(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, int rows, int k, int n)
        => I8Gemm4xNX86Tile.Run4x4<Op, Vector512<short>, Vector512<short>, Vector512<int>>(w, x, dot, rows, k, n);

    private struct Op : I8Gemm4xNX86Tile.IStep<Vector512<short>, Vector512<short>, Vector512<int>>
    {
        public static int Width => 32;
        public static bool Biased => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<short> LoadW(ref sbyte p, nuint j) => Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref p, j));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<short> LoadX(ref sbyte p, nuint j) => Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref p, j));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<short> LoadX(ref sbyte p, nuint j, Vector256<sbyte> mask) => Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref p, j) & mask);

        /// <summary>Unused: the step is unbiased.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<short> One(Vector256<sbyte> mask) => default;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Madd(Vector512<int> a, Vector512<short> w, Vector512<short> x) => a + Avx512BW.MultiplyAddAdjacent(w, x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Reduce4(Vector512<int> a0, Vector512<int> a1, Vector512<int> a2, Vector512<int> a3) => I8GemmX86.Reduce4(a0, a1, a2, a3);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Sum(Vector512<int> a) => Vector512.Sum(a);
    }
}
