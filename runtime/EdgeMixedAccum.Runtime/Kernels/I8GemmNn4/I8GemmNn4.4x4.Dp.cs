using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>i8-gemm-nn4 on ARMv8.2 DotProd: SDOT .4S (4 positions x 4 columns of k, 16 multiply-adds, accumulate
/// included), tiles of 4 rows x 4 vectors (16 positions), then 4 rows x 2 vectors for a remaining 8. The whole 4-row
/// blocks load four quads of each weight row at once (one 128-bit load) and use them by element (SDOT Vd.4S, Vn.16B,
/// Vm.4B[i]), four steps of k per load: 1.4 instructions per SDOT in the 4 x 2 tile instead of 3 with a scalar load and
/// a DUP per row and step, about 1.2 in the 4 x 4 (each panel vector feeds four SDOTs). The last kq % 4 steps take
/// their quad from lane 0; rows past the last multiple of 4 and positions past the last multiple of 8 take
/// GemmNnTile's loops. Exact: signed bytes, int32 lanes, any order. Contract: I8GemmNn4Family.Check runs first
/// (reads stay in wq[0, rows*kq) and xq[0, (kq-1)*ldx + n)); no alignment needed.</summary>
internal static class I8GemmNn44x4Dp
{
    public static void Run(ReadOnlySpan<int> wq, ReadOnlySpan<int> xq, Span<int> dot, int rows, int kq, int n, int ldx)
    {
        I8GemmNn4Family.Check(wq, xq, dot, rows, kq, n, ldx);
        if (rows == 0 || n == 0) return;
        int rows4 = rows - rows % 4, n16 = n - n % 16, n8 = n - n % 8;
        if (rows4 > 0 && n8 > 0) Blocks(wq, xq, dot, rows4, kq, n, ldx, n16, n8);
        if (rows4 > 0 && n8 < n) // (with kq = 0 the panel may be empty: never read, the sums are 0)
            GemmNnTile.Run<int, Vector128<int>, Lanes>(wq[..(rows4 * kq)], kq == 0 ? default : xq[n8..], dot[n8..], rows4, kq, n - n8, ldx, n);
        if (rows4 < rows)
            GemmNnTile.Run<int, Vector128<int>, Lanes>(wq[(rows4 * kq)..], xq, dot[(rows4 * n)..], rows - rows4, kq, n, ldx, n);
    }

    /// <summary>Rows [0, rows4) x positions [0, n8): per block of 4 rows, tiles of 4 vectors (16 accumulators, four
    /// weight and four panel registers: each panel vector feeds four SDOTs, each weight load sixteen, about 1.2
    /// instructions per SDOT) over [0, n16), then one tile of 2 vectors over [n16, n8) (1.4).</summary>
    private static void Blocks(ReadOnlySpan<int> wq, ReadOnlySpan<int> xq, Span<int> dot, int rows4, int kq, int n, int ldx, int n16, int n8)
    {
        ref int w0 = ref MemoryMarshal.GetReference(wq);
        ref int x0 = ref MemoryMarshal.GetReference(xq);
        ref int y0 = ref MemoryMarshal.GetReference(dot);
        for (int i = 0; i < rows4; i += 4)
        {
            ref int a0 = ref Unsafe.Add(ref w0, (nint)i * kq);
            ref int d = ref Unsafe.Add(ref y0, (nint)i * n);
            int q = 0;
            for (; q < n16; q += 16) Tile16(ref a0, ref Unsafe.Add(ref x0, q), ref Unsafe.Add(ref d, q), kq, n, ldx);
            for (; q < n8; q += 8) Tile8(ref a0, ref Unsafe.Add(ref x0, q), ref Unsafe.Add(ref d, q), kq, n, ldx);
        }
    }

    /// <summary>Rows a0 .. a0 + 3kq (4 weight rows of kq quads) x 16 positions of the panel from xq0, into d (rows of n).
    /// Steps of k four at a time from one 128-bit load per row, used by element; the last kq % 4 take their quad from
    /// lane 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile16(ref int a0, ref int xq0, ref int d, int kq, int n, int ldx)
    {
        ref int a1 = ref Unsafe.Add(ref a0, kq);
        ref int a2 = ref Unsafe.Add(ref a1, kq);
        ref int a3 = ref Unsafe.Add(ref a2, kq);
        Vector128<int> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector128<int> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        nint o = 0;
        int j = 0;
        for (; j + 4 <= kq; j += 4)
        {
            var w0v = Vector128.LoadUnsafe(ref a0, (nuint)j).AsSByte();
            var w1v = Vector128.LoadUnsafe(ref a1, (nuint)j).AsSByte();
            var w2v = Vector128.LoadUnsafe(ref a2, (nuint)j).AsSByte();
            var w3v = Vector128.LoadUnsafe(ref a3, (nuint)j).AsSByte();
            Step16(ref Unsafe.Add(ref xq0, o), w0v, w1v, w2v, w3v, 0, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
            o += ldx;
            Step16(ref Unsafe.Add(ref xq0, o), w0v, w1v, w2v, w3v, 1, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
            o += ldx;
            Step16(ref Unsafe.Add(ref xq0, o), w0v, w1v, w2v, w3v, 2, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
            o += ldx;
            Step16(ref Unsafe.Add(ref xq0, o), w0v, w1v, w2v, w3v, 3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
            o += ldx;
        }
        for (; j < kq; j++, o += ldx)
            Step16(ref Unsafe.Add(ref xq0, o), Quad(ref a0, j), Quad(ref a1, j), Quad(ref a2, j), Quad(ref a3, j), 0, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
        ref int d1 = ref Unsafe.Add(ref d, n);
        ref int d2 = ref Unsafe.Add(ref d1, n);
        ref int d3 = ref Unsafe.Add(ref d2, n);
        c00.StoreUnsafe(ref d); c01.StoreUnsafe(ref d, 4); c02.StoreUnsafe(ref d, 8); c03.StoreUnsafe(ref d, 12);
        c10.StoreUnsafe(ref d1); c11.StoreUnsafe(ref d1, 4); c12.StoreUnsafe(ref d1, 8); c13.StoreUnsafe(ref d1, 12);
        c20.StoreUnsafe(ref d2); c21.StoreUnsafe(ref d2, 4); c22.StoreUnsafe(ref d2, 8); c23.StoreUnsafe(ref d2, 12);
        c30.StoreUnsafe(ref d3); c31.StoreUnsafe(ref d3, 4); c32.StoreUnsafe(ref d3, 8); c33.StoreUnsafe(ref d3, 12);
    }

    /// <summary><see cref="Tile16"/> for 8 positions (2 vectors, 8 accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile8(ref int a0, ref int xq0, ref int d, int kq, int n, int ldx)
    {
        ref int a1 = ref Unsafe.Add(ref a0, kq);
        ref int a2 = ref Unsafe.Add(ref a1, kq);
        ref int a3 = ref Unsafe.Add(ref a2, kq);
        Vector128<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        nint o = 0;
        int j = 0;
        for (; j + 4 <= kq; j += 4)
        {
            var w0v = Vector128.LoadUnsafe(ref a0, (nuint)j).AsSByte();
            var w1v = Vector128.LoadUnsafe(ref a1, (nuint)j).AsSByte();
            var w2v = Vector128.LoadUnsafe(ref a2, (nuint)j).AsSByte();
            var w3v = Vector128.LoadUnsafe(ref a3, (nuint)j).AsSByte();
            Step(ref Unsafe.Add(ref xq0, o), w0v, w1v, w2v, w3v, 0, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31);
            o += ldx;
            Step(ref Unsafe.Add(ref xq0, o), w0v, w1v, w2v, w3v, 1, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31);
            o += ldx;
            Step(ref Unsafe.Add(ref xq0, o), w0v, w1v, w2v, w3v, 2, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31);
            o += ldx;
            Step(ref Unsafe.Add(ref xq0, o), w0v, w1v, w2v, w3v, 3, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31);
            o += ldx;
        }
        for (; j < kq; j++, o += ldx)
            Step(ref Unsafe.Add(ref xq0, o), Quad(ref a0, j), Quad(ref a1, j), Quad(ref a2, j), Quad(ref a3, j), 0, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31);
        ref int d1 = ref Unsafe.Add(ref d, n);
        ref int d2 = ref Unsafe.Add(ref d1, n);
        ref int d3 = ref Unsafe.Add(ref d2, n);
        c00.StoreUnsafe(ref d); c01.StoreUnsafe(ref d, 4);
        c10.StoreUnsafe(ref d1); c11.StoreUnsafe(ref d1, 4);
        c20.StoreUnsafe(ref d2); c21.StoreUnsafe(ref d2, 4);
        c30.StoreUnsafe(ref d3); c31.StoreUnsafe(ref d3, 4);
    }

    /// <summary>Quad j of a weight row in lane 0 (a tail step of k uses it by element 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Quad(ref int a, int j) => Vector128.CreateScalarUnsafe(Unsafe.Add(ref a, j)).AsSByte();

    /// <summary>One step of k for 16 positions: the panel row's four vectors against quad e of each row's weights.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step16(ref int xr, Vector128<sbyte> w0, Vector128<sbyte> w1, Vector128<sbyte> w2, Vector128<sbyte> w3,
        [System.Diagnostics.CodeAnalysis.ConstantExpected(Min = 0, Max = 3)] byte e,
        ref Vector128<int> c00, ref Vector128<int> c01, ref Vector128<int> c02, ref Vector128<int> c03,
        ref Vector128<int> c10, ref Vector128<int> c11, ref Vector128<int> c12, ref Vector128<int> c13,
        ref Vector128<int> c20, ref Vector128<int> c21, ref Vector128<int> c22, ref Vector128<int> c23,
        ref Vector128<int> c30, ref Vector128<int> c31, ref Vector128<int> c32, ref Vector128<int> c33)
    {
        var x_0 = Vector128.LoadUnsafe(ref xr).AsSByte();
        var x_1 = Vector128.LoadUnsafe(ref xr, 4).AsSByte();
        var x_2 = Vector128.LoadUnsafe(ref xr, 8).AsSByte();
        var x_3 = Vector128.LoadUnsafe(ref xr, 12).AsSByte();
        c00 = Dp.DotProductBySelectedQuadruplet(c00, x_0, w0, e); c01 = Dp.DotProductBySelectedQuadruplet(c01, x_1, w0, e);
        c02 = Dp.DotProductBySelectedQuadruplet(c02, x_2, w0, e); c03 = Dp.DotProductBySelectedQuadruplet(c03, x_3, w0, e);
        c10 = Dp.DotProductBySelectedQuadruplet(c10, x_0, w1, e); c11 = Dp.DotProductBySelectedQuadruplet(c11, x_1, w1, e);
        c12 = Dp.DotProductBySelectedQuadruplet(c12, x_2, w1, e); c13 = Dp.DotProductBySelectedQuadruplet(c13, x_3, w1, e);
        c20 = Dp.DotProductBySelectedQuadruplet(c20, x_0, w2, e); c21 = Dp.DotProductBySelectedQuadruplet(c21, x_1, w2, e);
        c22 = Dp.DotProductBySelectedQuadruplet(c22, x_2, w2, e); c23 = Dp.DotProductBySelectedQuadruplet(c23, x_3, w2, e);
        c30 = Dp.DotProductBySelectedQuadruplet(c30, x_0, w3, e); c31 = Dp.DotProductBySelectedQuadruplet(c31, x_1, w3, e);
        c32 = Dp.DotProductBySelectedQuadruplet(c32, x_2, w3, e); c33 = Dp.DotProductBySelectedQuadruplet(c33, x_3, w3, e);
    }

    /// <summary>One step of k: the panel row's two vectors against quad e of each row's loaded weights.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(ref int xr, Vector128<sbyte> w0, Vector128<sbyte> w1, Vector128<sbyte> w2, Vector128<sbyte> w3,
        [System.Diagnostics.CodeAnalysis.ConstantExpected(Min = 0, Max = 3)] byte e,
        ref Vector128<int> c00, ref Vector128<int> c01, ref Vector128<int> c10, ref Vector128<int> c11,
        ref Vector128<int> c20, ref Vector128<int> c21, ref Vector128<int> c30, ref Vector128<int> c31)
    {
        var x_0 = Vector128.LoadUnsafe(ref xr).AsSByte();
        var x_1 = Vector128.LoadUnsafe(ref xr, 4).AsSByte();
        c00 = Dp.DotProductBySelectedQuadruplet(c00, x_0, w0, e); c01 = Dp.DotProductBySelectedQuadruplet(c01, x_1, w0, e);
        c10 = Dp.DotProductBySelectedQuadruplet(c10, x_0, w1, e); c11 = Dp.DotProductBySelectedQuadruplet(c11, x_1, w1, e);
        c20 = Dp.DotProductBySelectedQuadruplet(c20, x_0, w2, e); c21 = Dp.DotProductBySelectedQuadruplet(c21, x_1, w2, e);
        c30 = Dp.DotProductBySelectedQuadruplet(c30, x_0, w3, e); c31 = Dp.DotProductBySelectedQuadruplet(c31, x_1, w3, e);
    }

    /// <summary>GemmNnTile's lanes, for the edges.</summary>
    internal struct Lanes : IGemmNnLanes<int, Vector128<int>>
    {
        public static int Width => 4;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Load(ref int p, nuint i) => Vector128.LoadUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector128<int> v, ref int p, nuint i) => v.StoreUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Splat(int quad) => Vector128.Create(quad);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> MulAdd(Vector128<int> acc, Vector128<int> w, Vector128<int> x) =>
            Dp.DotProduct(acc, w.AsSByte(), x.AsSByte());
        public static int Dot(ReadOnlySpan<int> wi, ReadOnlySpan<int> xq, int q, int ldx) => I8GemmNn4Scalar.Dot(wi, xq, q, ldx);
    }
}
