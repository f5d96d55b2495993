using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// AVX-512 with VNNI, 4 rows x 4 vectors x 32 columns per step: 16 ymm accumulators + 4 w + 1 biased x + the
/// bias constant = 22 vector registers, which only EVEX encoding can name (ymm16-31); the JIT EVEX-encodes
/// VPDPBUSD on a CPU with AVX-512 VNNI+VL (checked in the disassembly: no spills in the loop). .NET 10 exposes
/// VPDPBUSD only at 128/256 bits through AvxVnni (the 512-bit form needs AVX10.2), so this is the
/// <see cref="I8Gemm4x2AvxVnni"/> step (<see cref="I8Gemm4x2AvxVnni.Op"/>) on the 4x4 tile of
/// <see cref="I8Gemm4xNX86Tile"/>, twice as wide in vectors: each loaded w row feeds four vectors.
/// Sign trick and exactness as <see cref="I8Gemm4x2AvxVnni"/>: u = x XOR 0x80 = x + 128 (unsigned), then
/// 128*rowsum(w) over the same columns is subtracted; wrapping int32 throughout, exact modulo 2^32 and so exact
/// for all inputs in [-127, 127] and k &lt;= MaxK.
/// Contract: as <see cref="I8Gemm4xNX86Tile"/> (4x4 tile): row blocks of 4 take the 4x4 tile over vector
/// blocks of 4 and the 4x1 loop over the remaining vectors; rows past the last multiple of 4 take the 1x1 loop.
/// Columns as <see cref="I8Gemm4x2AvxVnni"/>: full 32-column steps, one masked step over [k-32, k) when
/// k % 32 != 0 and k &gt;= 32, the scalar tail when k &lt; 32. Reads stay in w[0, rows*k) and x[0, n*k), writes
/// in dot[0, n*rows).
/// </summary>
internal static class I8Gemm4x4Avx512Vnni
{
    public static void Run(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, int rows, int k, int n)
        => I8Gemm4xNX86Tile.Run4x4<I8Gemm4x2AvxVnni.Op, Vector256<sbyte>, Vector256<byte>, Vector256<int>>(w, x, dot, rows, k, n);
}
