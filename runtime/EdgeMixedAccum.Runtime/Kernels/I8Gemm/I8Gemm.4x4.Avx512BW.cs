using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// AVX-512BW, 4 rows x 4 vectors x 32 columns per step: 16 zmm accumulators, each loaded w row used for four
/// vectors and each x vector for four rows. .NET 10 has no 512-bit VPDPBUSD short of AVX10.2 (see
/// <see cref="Isa.Avx512BW"/>), so both operands are sign-extended to int16 (VPMOVSXBW from memory) and
/// multiplied by VPMADDWD (signed x signed, pairs into int32): no sign trick needed, exact for any int8
/// (a pair is at most 2*128*128 = 32768 in magnitude, far inside int32), and with k &lt;= MaxK the int32 totals
/// are exact. This costs 2 instructions per 32 columns per (row, vector) pair, against 5 per 64 for
/// VPMADDUBSW with x's sign moved onto w pair by pair, which a GEMM cannot share across vectors.
/// Contract: no alignment needed; any rows/k/n including 0. Row blocks of 4 take the 4x4 tile over vector
/// blocks of 4 and a 4x1 loop over the remaining vectors; rows past the last multiple of 4 take a 1x1 loop;
/// columns past the last multiple of 32 go through the scalar tail (no partial loads), so reads stay in
/// w[0, rows*k) and x[0, n*k) and writes in dot[0, n*rows).
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
        int kv = k - k % W;
        int i = 0;
        for (; i + 4 <= rows; i += 4)
        {
            ref sbyte r = ref Unsafe.Add(ref w0, (nint)i * k);
            int s = 0;
            for (; s + 4 <= n; s += 4)
                Tile4x4(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, kv, ref Unsafe.Add(ref d0, (nint)s * rows + i), rows);
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
    private static Vector512<short> Load(ref sbyte p, nuint j) => Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref p, j));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Mul(Vector512<short> a, Vector512<short> b) => Avx512BW.MultiplyAddAdjacent(a, b);

    private static void Tile4x4(ref sbyte r0, ref sbyte v0, int k, int kv, ref int d, int rows)
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        ref sbyte v1 = ref Unsafe.Add(ref v0, k), v2 = ref Unsafe.Add(ref v0, 2 * k), v3 = ref Unsafe.Add(ref v0, 3 * k);
        Vector512<int> a00 = default, a10 = default, a20 = default, a30 = default;
        Vector512<int> a01 = default, a11 = default, a21 = default, a31 = default;
        Vector512<int> a02 = default, a12 = default, a22 = default, a32 = default;
        Vector512<int> a03 = default, a13 = default, a23 = default, a33 = default;
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
            xv = Load(ref v2, j);
            a02 += Mul(w0, xv); a12 += Mul(w1, xv); a22 += Mul(w2, xv); a32 += Mul(w3, xv);
            xv = Load(ref v3, j);
            a03 += Mul(w0, xv); a13 += Mul(w1, xv); a23 += Mul(w2, xv); a33 += Mul(w3, xv);
        }
        (I8GemmX86.Reduce4(a00, a10, a20, a30) + I8GemmX86.Tails4(ref r0, ref v0, kv, k)).StoreUnsafe(ref d);
        (I8GemmX86.Reduce4(a01, a11, a21, a31) + I8GemmX86.Tails4(ref r0, ref v1, kv, k)).StoreUnsafe(ref Unsafe.Add(ref d, rows));
        (I8GemmX86.Reduce4(a02, a12, a22, a32) + I8GemmX86.Tails4(ref r0, ref v2, kv, k)).StoreUnsafe(ref Unsafe.Add(ref d, 2 * rows));
        (I8GemmX86.Reduce4(a03, a13, a23, a33) + I8GemmX86.Tails4(ref r0, ref v3, kv, k)).StoreUnsafe(ref Unsafe.Add(ref d, 3 * rows));
    }

    private static void Tile4x1(ref sbyte r0, ref sbyte v, int k, int kv, ref int d)
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (nuint j = 0; j < (nuint)kv; j += W)
        {
            var xv = Load(ref v, j);
            a0 += Mul(Load(ref r0, j), xv); a1 += Mul(Load(ref r1, j), xv); a2 += Mul(Load(ref r2, j), xv); a3 += Mul(Load(ref r3, j), xv);
        }
        (I8GemmX86.Reduce4(a0, a1, a2, a3) + I8GemmX86.Tails4(ref r0, ref v, kv, k)).StoreUnsafe(ref d);
    }

    private static int Tile1x1(ref sbyte r, ref sbyte v, int k, int kv)
    {
        Vector512<int> a = default;
        for (nuint j = 0; j < (nuint)kv; j += W) a += Mul(Load(ref r, j), Load(ref v, j));
        return Vector512.Sum(a) + I8GemmScalar.Tail(ref r, ref v, kv, k);
    }
}
