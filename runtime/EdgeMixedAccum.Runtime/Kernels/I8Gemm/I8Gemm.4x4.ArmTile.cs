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
/// blocks of 4 and a 4x1 loop over the remaining vectors; rows past the last multiple of 4 take a 1x1 loop;
/// columns past the last multiple of 16 go through the scalar tail (no partial loads), so reads stay in
/// w[0, rows*k) and x[0, n*k) and writes in dot[0, n*rows).
/// </summary>
internal static class I8Gemm4x4ArmTile
{
    private const int W = 16;

    /// <summary>One 16-column step of one (row, vector) pair: the only part that differs between the ISAs.</summary>
    public interface IStep
    {
        static abstract Vector128<int> Step(Vector128<int> acc, Vector128<sbyte> wv, Vector128<sbyte> xv);
    }

    public static void Run<TStep>(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, int rows, int k, int n)
        where TStep : struct, IStep
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
                Tile4x4<TStep>(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, kv, ref Unsafe.Add(ref d0, (nint)s * rows + i), rows);
            for (; s < n; s++)
                Tile4x1<TStep>(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, kv, ref Unsafe.Add(ref d0, (nint)s * rows + i));
        }
        for (; i < rows; i++)
        {
            ref sbyte r = ref Unsafe.Add(ref w0, (nint)i * k);
            for (int s = 0; s < n; s++)
                Unsafe.Add(ref d0, (nint)s * rows + i) = Tile1x1<TStep>(ref r, ref Unsafe.Add(ref x0, (nint)s * k), k, kv);
        }
    }

    /// <summary>[sum a0, sum a1, sum a2, sum a3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Reduce4(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3) =>
        AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(a0, a1), AdvSimd.Arm64.AddPairwise(a2, a3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Tails4(ref sbyte r0, ref sbyte v, int kv, int k)
    {
        if (kv == k) return Vector128<int>.Zero;
        return Vector128.Create(
            I8GemmScalar.Tail(ref r0, ref v, kv, k),
            I8GemmScalar.Tail(ref Unsafe.Add(ref r0, k), ref v, kv, k),
            I8GemmScalar.Tail(ref Unsafe.Add(ref r0, 2 * k), ref v, kv, k),
            I8GemmScalar.Tail(ref Unsafe.Add(ref r0, 3 * k), ref v, kv, k));
    }

    private static void Tile4x4<TStep>(ref sbyte r0, ref sbyte v0, int k, int kv, ref int d, int rows)
        where TStep : struct, IStep
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        ref sbyte v1 = ref Unsafe.Add(ref v0, k), v2 = ref Unsafe.Add(ref v0, 2 * k), v3 = ref Unsafe.Add(ref v0, 3 * k);
        Vector128<int> a00 = default, a10 = default, a20 = default, a30 = default;
        Vector128<int> a01 = default, a11 = default, a21 = default, a31 = default;
        Vector128<int> a02 = default, a12 = default, a22 = default, a32 = default;
        Vector128<int> a03 = default, a13 = default, a23 = default, a33 = default;
        for (nuint j = 0; j < (nuint)kv; j += W)
        {
            var w0 = Vector128.LoadUnsafe(ref r0, j);
            var w1 = Vector128.LoadUnsafe(ref r1, j);
            var w2 = Vector128.LoadUnsafe(ref r2, j);
            var w3 = Vector128.LoadUnsafe(ref r3, j);
            var xv = Vector128.LoadUnsafe(ref v0, j);
            a00 = TStep.Step(a00, w0, xv); a10 = TStep.Step(a10, w1, xv); a20 = TStep.Step(a20, w2, xv); a30 = TStep.Step(a30, w3, xv);
            xv = Vector128.LoadUnsafe(ref v1, j);
            a01 = TStep.Step(a01, w0, xv); a11 = TStep.Step(a11, w1, xv); a21 = TStep.Step(a21, w2, xv); a31 = TStep.Step(a31, w3, xv);
            xv = Vector128.LoadUnsafe(ref v2, j);
            a02 = TStep.Step(a02, w0, xv); a12 = TStep.Step(a12, w1, xv); a22 = TStep.Step(a22, w2, xv); a32 = TStep.Step(a32, w3, xv);
            xv = Vector128.LoadUnsafe(ref v3, j);
            a03 = TStep.Step(a03, w0, xv); a13 = TStep.Step(a13, w1, xv); a23 = TStep.Step(a23, w2, xv); a33 = TStep.Step(a33, w3, xv);
        }
        (Reduce4(a00, a10, a20, a30) + Tails4(ref r0, ref v0, kv, k)).StoreUnsafe(ref d);
        (Reduce4(a01, a11, a21, a31) + Tails4(ref r0, ref v1, kv, k)).StoreUnsafe(ref Unsafe.Add(ref d, rows));
        (Reduce4(a02, a12, a22, a32) + Tails4(ref r0, ref v2, kv, k)).StoreUnsafe(ref Unsafe.Add(ref d, 2 * rows));
        (Reduce4(a03, a13, a23, a33) + Tails4(ref r0, ref v3, kv, k)).StoreUnsafe(ref Unsafe.Add(ref d, 3 * rows));
    }

    private static void Tile4x1<TStep>(ref sbyte r0, ref sbyte v, int k, int kv, ref int d)
        where TStep : struct, IStep
    {
        ref sbyte r1 = ref Unsafe.Add(ref r0, k), r2 = ref Unsafe.Add(ref r0, 2 * k), r3 = ref Unsafe.Add(ref r0, 3 * k);
        Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (nuint j = 0; j < (nuint)kv; j += W)
        {
            var xv = Vector128.LoadUnsafe(ref v, j);
            a0 = TStep.Step(a0, Vector128.LoadUnsafe(ref r0, j), xv); a1 = TStep.Step(a1, Vector128.LoadUnsafe(ref r1, j), xv);
            a2 = TStep.Step(a2, Vector128.LoadUnsafe(ref r2, j), xv); a3 = TStep.Step(a3, Vector128.LoadUnsafe(ref r3, j), xv);
        }
        (Reduce4(a0, a1, a2, a3) + Tails4(ref r0, ref v, kv, k)).StoreUnsafe(ref d);
    }

    private static int Tile1x1<TStep>(ref sbyte r, ref sbyte v, int k, int kv)
        where TStep : struct, IStep
    {
        Vector128<int> a = default;
        for (nuint j = 0; j < (nuint)kv; j += W) a = TStep.Step(a, Vector128.LoadUnsafe(ref r, j), Vector128.LoadUnsafe(ref v, j));
        return Vector128.Sum(a) + I8GemmScalar.Tail(ref r, ref v, kv, k);
    }
}
