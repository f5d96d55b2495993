using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// AVX2, 4 rows x 2 vectors x 16 columns per step: 8 ymm accumulators + 4 w + 1 x + 1 product = 14 of the 16
/// ymm registers, each loaded w row used for two vectors and each x vector for four rows. Both operands are
/// sign-extended to int16 (VPMOVSXBW from memory) and multiplied by VPMADDWD (signed x signed, pairs into
/// int32): no sign trick, exact for any int8, int32 totals exact for k &lt;= MaxK.
/// Contract: no alignment needed; any rows/k/n including 0. Row blocks of 4 take the 4x2 tile over vector
/// pairs and a 4x1 loop over an odd last vector; rows past the last multiple of 4 take a 1x1 loop; columns
/// past the last multiple of 16 go through the scalar tail (no partial loads), so reads stay in w[0, rows*k)
/// and x[0, n*k) and writes in dot[0, n*rows).
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
        int kv = k - k % W;
        int i = 0;
        for (; i + 4 <= rows; i += 4)
        {
            ref sbyte r = ref Unsafe.Add(ref w0, (nint)i * k);
            int s = 0;
            for (; s + 2 <= n; s += 2)
                Tile4x2(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, kv, ref Unsafe.Add(ref d0, (nint)s * rows + i), rows);
            for (; s < n; s++)
                Tile4x1(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, kv, ref Unsafe.Add(ref d0, (nint)s * rows + i));
        }
        for (; i < rows; i++)
        {
            ref sbyte r = ref Unsafe.Add(ref w0, (nint)i * k);
            for (int s = 0; s < n; s++)
                Unsafe.Add(ref d0, (nint)s * rows + i) = Tile1x1(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, kv);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Load(ref sbyte p, nuint j) => Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref p, j));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Mul(Vector256<short> a, Vector256<short> b) => Avx2.MultiplyAddAdjacent(a, b);

    private static void Tile4x2(ref sbyte r0, ref sbyte v0, int k, int kv, ref int d, int rows)
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        ref sbyte v1 = ref Unsafe.Add(ref v0, k);
        Vector256<int> a00 = default, a10 = default, a20 = default, a30 = default;
        Vector256<int> a01 = default, a11 = default, a21 = default, a31 = default;
        for (nuint j = 0; j < (nuint)kv; j += W)
        {
            var w0 = Load(ref r0, j);
            var w1 = Load(ref r1, j);
            var w2 = Load(ref r2, j);
            var w3 = Load(ref r3, j);
            var xv = Load(ref v0, j);
            a00 += Mul(w0, xv); a10 += Mul(w1, xv); a20 += Mul(w2, xv); a30 += Mul(w3, xv);
            xv = Load(ref v1, j);
            a01 += Mul(w0, xv); a11 += Mul(w1, xv); a21 += Mul(w2, xv); a31 += Mul(w3, xv);
        }
        (I8GemmX86.Reduce4(a00, a10, a20, a30) + I8GemmX86.Tails4(ref r0, ref v0, kv, k)).StoreUnsafe(ref d);
        (I8GemmX86.Reduce4(a01, a11, a21, a31) + I8GemmX86.Tails4(ref r0, ref v1, kv, k)).StoreUnsafe(ref Unsafe.Add(ref d, rows));
    }

    private static void Tile4x1(ref sbyte r0, ref sbyte v, int k, int kv, ref int d)
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (nuint j = 0; j < (nuint)kv; j += W)
        {
            var xv = Load(ref v, j);
            a0 += Mul(Load(ref r0, j), xv); a1 += Mul(Load(ref r1, j), xv); a2 += Mul(Load(ref r2, j), xv); a3 += Mul(Load(ref r3, j), xv);
        }
        (I8GemmX86.Reduce4(a0, a1, a2, a3) + I8GemmX86.Tails4(ref r0, ref v, kv, k)).StoreUnsafe(ref d);
    }

    private static int Tile1x1(ref sbyte r, ref sbyte v, int k, int kv)
    {
        Vector256<int> a = default;
        for (nuint j = 0; j < (nuint)kv; j += W) a += Mul(Load(ref r, j), Load(ref v, j));
        return Vector256.Sum(a) + I8GemmScalar.Tail(ref r, ref v, kv, k);
    }
}
