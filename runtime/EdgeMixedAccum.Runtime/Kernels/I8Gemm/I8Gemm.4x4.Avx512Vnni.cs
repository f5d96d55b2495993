using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// AVX-512 with VNNI, 4 rows x 4 vectors x 32 columns per step: 16 ymm accumulators + 4 w + 1 biased x + the
/// bias constant = 22 vector registers, which only EVEX encoding can name (ymm16-31); the JIT EVEX-encodes
/// VPDPBUSD on a CPU with AVX-512 VNNI+VL (checked in the disassembly: no spills in the loop). .NET 10 exposes
/// VPDPBUSD only at 128/256 bits through AvxVnni (the 512-bit form needs AVX10.2), so this is the
/// <see cref="I8Gemm4x2AvxVnni"/> scheme on a tile twice as wide in vectors: each loaded w row feeds four vectors.
/// Sign trick and exactness as <see cref="I8Gemm4x2AvxVnni"/>: u = x XOR 0x80 = x + 128 (unsigned), then
/// 128*rowsum(w) over the same columns is subtracted; wrapping int32 throughout, exact modulo 2^32 and so exact
/// for all inputs in [-127, 127] and k &lt;= MaxK.
/// Contract: no alignment needed; any rows/k/n including 0. Row blocks of 4 take the 4x4 tile over vector
/// blocks of 4 and the shared 4x1 loop over the remaining vectors; rows past the last multiple of 4 take the
/// shared 1x1 loop. Columns as <see cref="I8Gemm4x2AvxVnni"/>: full 32-column steps, one masked step over
/// [k-32, k) when k % 32 != 0 and k &gt;= 32, the scalar tail when k &lt; 32. Reads stay in w[0, rows*k) and
/// x[0, n*k), writes in dot[0, n*rows).
/// </summary>
internal static class I8Gemm4x4Avx512Vnni
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
            var bias = I8Gemm4x2AvxVnni.RowSums4(ref r, k, c) << 7; // 128*rowsum(w) over the SIMD columns, wrapping
            int s = 0;
            for (; s + 4 <= n; s += 4)
                Tile4x4(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c, ref Unsafe.Add(ref d0, (nint)s * rows + i), rows, bias);
            for (; s < n; s++)
                I8Gemm4x2AvxVnni.Tile4x1(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c, ref Unsafe.Add(ref d0, (nint)s * rows + i), bias);
        }
        for (; i < rows; i++)
        {
            ref sbyte r = ref Unsafe.Add(ref w0, (nint)i * k);
            for (int s = 0; s < n; s++)
                Unsafe.Add(ref d0, (nint)s * rows + i) = I8Gemm4x2AvxVnni.Tile1x1(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c);
        }
    }

    private static void Tile4x4(ref sbyte r0, ref sbyte v0, int k, I8GemmX86.Cols c, ref int d, int rows, Vector128<int> bias)
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        ref sbyte v1 = ref Unsafe.Add(ref v0, k), v2 = ref Unsafe.Add(ref v0, 2 * k), v3 = ref Unsafe.Add(ref v0, 3 * k);
        Vector256<int> a00 = default, a10 = default, a20 = default, a30 = default;
        Vector256<int> a01 = default, a11 = default, a21 = default, a31 = default;
        Vector256<int> a02 = default, a12 = default, a22 = default, a32 = default;
        Vector256<int> a03 = default, a13 = default, a23 = default, a33 = default;
        for (nuint j = 0, full = c.Full; j < full; j += W)
        {
            Vector256<sbyte> w0 = I8Gemm4x2AvxVnni.Load(ref r0, j), w1 = I8Gemm4x2AvxVnni.Load(ref r1, j);
            Vector256<sbyte> w2 = I8Gemm4x2AvxVnni.Load(ref r2, j), w3 = I8Gemm4x2AvxVnni.Load(ref r3, j);
            I8Gemm4x2AvxVnni.Step4(ref a00, ref a10, ref a20, ref a30, w0, w1, w2, w3, I8Gemm4x2AvxVnni.LoadBiased(ref v0, j));
            I8Gemm4x2AvxVnni.Step4(ref a01, ref a11, ref a21, ref a31, w0, w1, w2, w3, I8Gemm4x2AvxVnni.LoadBiased(ref v1, j));
            I8Gemm4x2AvxVnni.Step4(ref a02, ref a12, ref a22, ref a32, w0, w1, w2, w3, I8Gemm4x2AvxVnni.LoadBiased(ref v2, j));
            I8Gemm4x2AvxVnni.Step4(ref a03, ref a13, ref a23, ref a33, w0, w1, w2, w3, I8Gemm4x2AvxVnni.LoadBiased(ref v3, j));
        }
        if (c.Masked)
        {
            nuint j = c.Last;
            Vector256<sbyte> w0 = I8Gemm4x2AvxVnni.Load(ref r0, j), w1 = I8Gemm4x2AvxVnni.Load(ref r1, j);
            Vector256<sbyte> w2 = I8Gemm4x2AvxVnni.Load(ref r2, j), w3 = I8Gemm4x2AvxVnni.Load(ref r3, j);
            I8Gemm4x2AvxVnni.Step4(ref a00, ref a10, ref a20, ref a30, w0, w1, w2, w3, I8Gemm4x2AvxVnni.LoadBiasedMasked(ref v0, j, c.Mask));
            I8Gemm4x2AvxVnni.Step4(ref a01, ref a11, ref a21, ref a31, w0, w1, w2, w3, I8Gemm4x2AvxVnni.LoadBiasedMasked(ref v1, j, c.Mask));
            I8Gemm4x2AvxVnni.Step4(ref a02, ref a12, ref a22, ref a32, w0, w1, w2, w3, I8Gemm4x2AvxVnni.LoadBiasedMasked(ref v2, j, c.Mask));
            I8Gemm4x2AvxVnni.Step4(ref a03, ref a13, ref a23, ref a33, w0, w1, w2, w3, I8Gemm4x2AvxVnni.LoadBiasedMasked(ref v3, j, c.Mask));
        }
        (I8GemmX86.Reduce4(a00, a10, a20, a30) - bias + I8GemmX86.Tails4(ref r0, ref v0, c.Scalar, k)).StoreUnsafe(ref d);
        (I8GemmX86.Reduce4(a01, a11, a21, a31) - bias + I8GemmX86.Tails4(ref r0, ref v1, c.Scalar, k)).StoreUnsafe(ref Unsafe.Add(ref d, rows));
        (I8GemmX86.Reduce4(a02, a12, a22, a32) - bias + I8GemmX86.Tails4(ref r0, ref v2, c.Scalar, k)).StoreUnsafe(ref Unsafe.Add(ref d, 2 * rows));
        (I8GemmX86.Reduce4(a03, a13, a23, a33) - bias + I8GemmX86.Tails4(ref r0, ref v3, c.Scalar, k)).StoreUnsafe(ref Unsafe.Add(ref d, 3 * rows));
    }
}
