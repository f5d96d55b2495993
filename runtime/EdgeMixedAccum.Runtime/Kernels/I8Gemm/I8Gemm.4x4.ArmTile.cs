using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The 4 rows x 4 vectors x 16 columns tile shared by the ARM64 i8-gemm kernels (AdvSimd SMULL/SMLAL2/SADALP
/// and Dp SDOT): 16 int32x4 accumulators + 4 w + 1 x of the 32 q registers, each loaded w row used for four
/// vectors and each x vector for four rows; the ISA-specific multiply-accumulate is the kernel's
/// <see cref="IStep"/>. Both ISAs multiply signed by signed, so no sign trick is needed. At the end of k, four
/// row accumulators of one vector reduce with two ADDP .4S into the four consecutive outputs dot[s*rows + i..i+3].
/// Contract: no alignment needed; any rows/k/n including 0. Row blocks of 4 take the 4x4 tile over vector
/// blocks of 4 and a 4x1 loop over the remaining vectors; rows past the last multiple of 4 take a 1x1 loop.
/// Columns: full 16-column steps, then, when k % 16 != 0 and k &gt;= 16, one more step over the last 16
/// columns [k-16, k) with the x bytes already counted zeroed by a mask (nothing counted twice, no load outside
/// its row or vector); k &lt; 16 goes through the scalar tail. Reads stay in w[0, rows*k) and x[0, n*k),
/// writes in dot[0, n*rows).
/// </summary>
internal static class I8Gemm4x4ArmTile
{
    private const int W = 16;

    /// <summary>One 16-column step of one (row, vector) pair: the only part that differs between the ISAs.</summary>
    public interface IStep
    {
        static abstract Vector128<int> Step(Vector128<int> acc, Vector128<sbyte> wv, Vector128<sbyte> xv);
    }

    /// <summary>The column split of k: full steps over [0, Full); a masked step over [Last, k) when Masked;
    /// the scalar tail over [Scalar, k) (empty unless k &lt; 16).</summary>
    private readonly struct Cols
    {
        public readonly nuint Full, Last;
        public readonly int Scalar;
        public readonly bool Masked;
        public readonly Vector128<sbyte> Mask;

        public Cols(int k)
        {
            int rem = k % W;
            Full = (nuint)(k - rem);
            Masked = rem != 0 && k >= W;
            Last = Masked ? (nuint)(k - W) : 0;
            Scalar = k < W ? 0 : k;
            Mask = Vector128.GreaterThanOrEqual(Vector128<sbyte>.Indices, Vector128.Create((sbyte)(W - rem)));
        }
    }

    public static void Run<TStep>(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, int rows, int k, int n)
        where TStep : struct, IStep
    {
        I8GemmFamily.Check(w, x, dot, rows, k, n);
        ref sbyte w0 = ref MemoryMarshal.GetReference(w);
        ref sbyte x0 = ref MemoryMarshal.GetReference(x);
        ref int d0 = ref MemoryMarshal.GetReference(dot);
        var c = new Cols(k);
        int i = 0;
        for (; i + 4 <= rows; i += 4)
        {
            ref sbyte r = ref Unsafe.Add(ref w0, (nint)i * k);
            int s = 0;
            for (; s + 4 <= n; s += 4)
                Tile4x4<TStep>(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c, ref Unsafe.Add(ref d0, (nint)s * rows + i), rows);
            for (; s < n; s++)
                Tile4x1<TStep>(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c, ref Unsafe.Add(ref d0, (nint)s * rows + i));
        }
        for (; i < rows; i++)
        {
            ref sbyte r = ref Unsafe.Add(ref w0, (nint)i * k);
            for (int s = 0; s < n; s++)
                Unsafe.Add(ref d0, (nint)s * rows + i) = Tile1x1<TStep>(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, c);
        }
    }

    /// <summary>[sum a0, sum a1, sum a2, sum a3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Reduce4(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3) =>
        AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(a0, a1), AdvSimd.Arm64.AddPairwise(a2, a3));

    /// <summary>One x vector against four loaded w rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step4<TStep>(ref Vector128<int> a0, ref Vector128<int> a1, ref Vector128<int> a2, ref Vector128<int> a3,
        Vector128<sbyte> w0, Vector128<sbyte> w1, Vector128<sbyte> w2, Vector128<sbyte> w3, Vector128<sbyte> xv)
        where TStep : struct, IStep
    {
        a0 = TStep.Step(a0, w0, xv);
        a1 = TStep.Step(a1, w1, xv);
        a2 = TStep.Step(a2, w2, xv);
        a3 = TStep.Step(a3, w3, xv);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Load(ref sbyte p, nuint j) => Vector128.LoadUnsafe(ref p, j);

    private static void Tile4x4<TStep>(ref sbyte r0, ref sbyte v0, int k, Cols c, ref int d, int rows)
        where TStep : struct, IStep
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        ref sbyte v1 = ref Unsafe.Add(ref v0, k), v2 = ref Unsafe.Add(ref v0, 2 * k), v3 = ref Unsafe.Add(ref v0, 3 * k);
        Vector128<int> a00 = default, a10 = default, a20 = default, a30 = default;
        Vector128<int> a01 = default, a11 = default, a21 = default, a31 = default;
        Vector128<int> a02 = default, a12 = default, a22 = default, a32 = default;
        Vector128<int> a03 = default, a13 = default, a23 = default, a33 = default;
        for (nuint j = 0, full = c.Full; j < full; j += W)
        {
            Vector128<sbyte> w0 = Load(ref r0, j), w1 = Load(ref r1, j), w2 = Load(ref r2, j), w3 = Load(ref r3, j);
            Step4<TStep>(ref a00, ref a10, ref a20, ref a30, w0, w1, w2, w3, Load(ref v0, j));
            Step4<TStep>(ref a01, ref a11, ref a21, ref a31, w0, w1, w2, w3, Load(ref v1, j));
            Step4<TStep>(ref a02, ref a12, ref a22, ref a32, w0, w1, w2, w3, Load(ref v2, j));
            Step4<TStep>(ref a03, ref a13, ref a23, ref a33, w0, w1, w2, w3, Load(ref v3, j));
        }
        if (c.Masked)
        {
            nuint j = c.Last;
            Vector128<sbyte> w0 = Load(ref r0, j), w1 = Load(ref r1, j), w2 = Load(ref r2, j), w3 = Load(ref r3, j);
            Step4<TStep>(ref a00, ref a10, ref a20, ref a30, w0, w1, w2, w3, Load(ref v0, j) & c.Mask);
            Step4<TStep>(ref a01, ref a11, ref a21, ref a31, w0, w1, w2, w3, Load(ref v1, j) & c.Mask);
            Step4<TStep>(ref a02, ref a12, ref a22, ref a32, w0, w1, w2, w3, Load(ref v2, j) & c.Mask);
            Step4<TStep>(ref a03, ref a13, ref a23, ref a33, w0, w1, w2, w3, Load(ref v3, j) & c.Mask);
        }
        (Reduce4(a00, a10, a20, a30) + I8GemmScalar.Tails4(ref r0, ref v0, c.Scalar, k)).StoreUnsafe(ref d);
        (Reduce4(a01, a11, a21, a31) + I8GemmScalar.Tails4(ref r0, ref v1, c.Scalar, k)).StoreUnsafe(ref Unsafe.Add(ref d, rows));
        (Reduce4(a02, a12, a22, a32) + I8GemmScalar.Tails4(ref r0, ref v2, c.Scalar, k)).StoreUnsafe(ref Unsafe.Add(ref d, 2 * rows));
        (Reduce4(a03, a13, a23, a33) + I8GemmScalar.Tails4(ref r0, ref v3, c.Scalar, k)).StoreUnsafe(ref Unsafe.Add(ref d, 3 * rows));
    }

    private static void Tile4x1<TStep>(ref sbyte r0, ref sbyte v, int k, Cols c, ref int d)
        where TStep : struct, IStep
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (nuint j = 0, full = c.Full; j < full; j += W)
            Step4<TStep>(ref a0, ref a1, ref a2, ref a3, Load(ref r0, j), Load(ref r1, j), Load(ref r2, j), Load(ref r3, j), Load(ref v, j));
        if (c.Masked)
        {
            nuint j = c.Last;
            Step4<TStep>(ref a0, ref a1, ref a2, ref a3, Load(ref r0, j), Load(ref r1, j), Load(ref r2, j), Load(ref r3, j), Load(ref v, j) & c.Mask);
        }
        (Reduce4(a0, a1, a2, a3) + I8GemmScalar.Tails4(ref r0, ref v, c.Scalar, k)).StoreUnsafe(ref d);
    }

    private static int Tile1x1<TStep>(ref sbyte r, ref sbyte v, int k, Cols c)
        where TStep : struct, IStep
    {
        Vector128<int> a = default;
        for (nuint j = 0, full = c.Full; j < full; j += W) a = TStep.Step(a, Load(ref r, j), Load(ref v, j));
        if (c.Masked) a = TStep.Step(a, Load(ref r, c.Last), Load(ref v, c.Last) & c.Mask);
        return Vector128.Sum(a) + I8GemmScalar.Tail(ref r, ref v, c.Scalar, k);
    }
}
