using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The 8 rows x 16 columns tile shared by the ARM64 int8 kernels (AdvSimd SMLAL/SADALP and Dp SDOT): one x load
/// and |x| serve eight rows (nine loads per eight SDOTs where four rows took five per four: the loads, not the
/// SDOTs, bound a batch-1 GEMV on the A76's two load pipes); the ISA-specific multiply-accumulate is the kernel's
/// <see cref="IStep"/>. Sixteen accumulators with |x|'s (WithAbs) plus x, |x| and w fit NEON's 32 registers.
/// Integer sums are exact, so the tiling never changes a result.
/// Contract: no alignment needed; any rows/k including 0. Rows past the last multiple of 8 take one 4-row block
/// if four remain, then a one-row loop; columns past the last multiple of 16 go through the scalar tail (no
/// partial loads), so reads stay in w[0, rows*k) and x[0, k) and writes in dot/absDot[0, rows).
/// </summary>
internal static class I8Gemv8x16ArmTile
{
    private const int W = 16;

    /// <summary>One 128-bit-wide step of one row: the only part that differs between the ISAs on this tile.</summary>
    public interface IStep
    {
        static abstract void Step<TAbs>(Vector128<sbyte> xv, Vector128<byte> ux, Vector128<sbyte> wv, ref Vector128<int> d, ref Vector128<uint> a) where TAbs : struct, IAbsMode;
    }

    public static void Run<TStep>(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, Span<int> absDot, int rows, int k)
        where TStep : struct, IStep
    {
        I8GemvFamily.Check(w, x, dot, absDot, rows, k);
        if (absDot.IsEmpty) Rows<TStep, NoAbs>(w, x, dot, absDot, rows, k);
        else Rows<TStep, WithAbs>(w, x, dot, absDot, rows, k);
    }

    private static void Rows<TStep, TAbs>(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, Span<int> absDot, int rows, int k)
        where TStep : struct, IStep where TAbs : struct, IAbsMode
    {
        ref sbyte w0 = ref MemoryMarshal.GetReference(w);
        ref sbyte xr = ref MemoryMarshal.GetReference(x);
        ref int dr = ref MemoryMarshal.GetReference(dot);
        // Without absDot, aim its ref at dot: Finish<NoAbs> never writes it, and no ref points outside the caller's data.
        ref int ar = ref TAbs.On ? ref MemoryMarshal.GetReference(absDot) : ref dr;
        int kv = k - k % W;
        int i = 0;
        for (; i + 8 <= rows; i += 8)
        {
            ref sbyte r0 = ref Unsafe.Add(ref w0, (nint)i * k);
            ref sbyte r1 = ref Unsafe.Add(ref r0, k);
            ref sbyte r2 = ref Unsafe.Add(ref r1, k);
            ref sbyte r3 = ref Unsafe.Add(ref r2, k);
            ref sbyte r4 = ref Unsafe.Add(ref r3, k);
            ref sbyte r5 = ref Unsafe.Add(ref r4, k);
            ref sbyte r6 = ref Unsafe.Add(ref r5, k);
            ref sbyte r7 = ref Unsafe.Add(ref r6, k);
            Vector128<int> d0 = default, d1 = default, d2 = default, d3 = default, d4 = default, d5 = default, d6 = default, d7 = default;
            Vector128<uint> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (int j = 0; j < kv; j += W)
            {
                var xv = Vector128.LoadUnsafe(ref xr, (nuint)j);
                var ux = AdvSimd.Abs(xv);
                TStep.Step<TAbs>(xv, ux, Vector128.LoadUnsafe(ref r0, (nuint)j), ref d0, ref a0);
                TStep.Step<TAbs>(xv, ux, Vector128.LoadUnsafe(ref r1, (nuint)j), ref d1, ref a1);
                TStep.Step<TAbs>(xv, ux, Vector128.LoadUnsafe(ref r2, (nuint)j), ref d2, ref a2);
                TStep.Step<TAbs>(xv, ux, Vector128.LoadUnsafe(ref r3, (nuint)j), ref d3, ref a3);
                TStep.Step<TAbs>(xv, ux, Vector128.LoadUnsafe(ref r4, (nuint)j), ref d4, ref a4);
                TStep.Step<TAbs>(xv, ux, Vector128.LoadUnsafe(ref r5, (nuint)j), ref d5, ref a5);
                TStep.Step<TAbs>(xv, ux, Vector128.LoadUnsafe(ref r6, (nuint)j), ref d6, ref a6);
                TStep.Step<TAbs>(xv, ux, Vector128.LoadUnsafe(ref r7, (nuint)j), ref d7, ref a7);
            }
            Finish<TAbs>(ref r0, ref xr, kv, k, d0, a0, ref Unsafe.Add(ref dr, i), ref Unsafe.Add(ref ar, i));
            Finish<TAbs>(ref r1, ref xr, kv, k, d1, a1, ref Unsafe.Add(ref dr, i + 1), ref Unsafe.Add(ref ar, i + 1));
            Finish<TAbs>(ref r2, ref xr, kv, k, d2, a2, ref Unsafe.Add(ref dr, i + 2), ref Unsafe.Add(ref ar, i + 2));
            Finish<TAbs>(ref r3, ref xr, kv, k, d3, a3, ref Unsafe.Add(ref dr, i + 3), ref Unsafe.Add(ref ar, i + 3));
            Finish<TAbs>(ref r4, ref xr, kv, k, d4, a4, ref Unsafe.Add(ref dr, i + 4), ref Unsafe.Add(ref ar, i + 4));
            Finish<TAbs>(ref r5, ref xr, kv, k, d5, a5, ref Unsafe.Add(ref dr, i + 5), ref Unsafe.Add(ref ar, i + 5));
            Finish<TAbs>(ref r6, ref xr, kv, k, d6, a6, ref Unsafe.Add(ref dr, i + 6), ref Unsafe.Add(ref ar, i + 6));
            Finish<TAbs>(ref r7, ref xr, kv, k, d7, a7, ref Unsafe.Add(ref dr, i + 7), ref Unsafe.Add(ref ar, i + 7));
        }
        if (i + 4 <= rows)
        {
            ref sbyte r0 = ref Unsafe.Add(ref w0, (nint)i * k);
            ref sbyte r1 = ref Unsafe.Add(ref r0, k);
            ref sbyte r2 = ref Unsafe.Add(ref r1, k);
            ref sbyte r3 = ref Unsafe.Add(ref r2, k);
            Vector128<int> d0 = default, d1 = default, d2 = default, d3 = default;
            Vector128<uint> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int j = 0; j < kv; j += W)
            {
                var xv = Vector128.LoadUnsafe(ref xr, (nuint)j);
                var ux = AdvSimd.Abs(xv);
                TStep.Step<TAbs>(xv, ux, Vector128.LoadUnsafe(ref r0, (nuint)j), ref d0, ref a0);
                TStep.Step<TAbs>(xv, ux, Vector128.LoadUnsafe(ref r1, (nuint)j), ref d1, ref a1);
                TStep.Step<TAbs>(xv, ux, Vector128.LoadUnsafe(ref r2, (nuint)j), ref d2, ref a2);
                TStep.Step<TAbs>(xv, ux, Vector128.LoadUnsafe(ref r3, (nuint)j), ref d3, ref a3);
            }
            Finish<TAbs>(ref r0, ref xr, kv, k, d0, a0, ref Unsafe.Add(ref dr, i), ref Unsafe.Add(ref ar, i));
            Finish<TAbs>(ref r1, ref xr, kv, k, d1, a1, ref Unsafe.Add(ref dr, i + 1), ref Unsafe.Add(ref ar, i + 1));
            Finish<TAbs>(ref r2, ref xr, kv, k, d2, a2, ref Unsafe.Add(ref dr, i + 2), ref Unsafe.Add(ref ar, i + 2));
            Finish<TAbs>(ref r3, ref xr, kv, k, d3, a3, ref Unsafe.Add(ref dr, i + 3), ref Unsafe.Add(ref ar, i + 3));
            i += 4;
        }
        for (; i < rows; i++)
        {
            ref sbyte r0 = ref Unsafe.Add(ref w0, (nint)i * k);
            Vector128<int> d0 = default;
            Vector128<uint> a0 = default;
            for (int j = 0; j < kv; j += W)
            {
                var xv = Vector128.LoadUnsafe(ref xr, (nuint)j);
                var ux = AdvSimd.Abs(xv);
                TStep.Step<TAbs>(xv, ux, Vector128.LoadUnsafe(ref r0, (nuint)j), ref d0, ref a0);
            }
            Finish<TAbs>(ref r0, ref xr, kv, k, d0, a0, ref Unsafe.Add(ref dr, i), ref Unsafe.Add(ref ar, i));
        }
    }

    /// <summary>One row's lanes summed, plus its scalar column tail, into dot (and absDot).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<TAbs>(ref sbyte row, ref sbyte xr, int kv, int k, Vector128<int> d, Vector128<uint> a, ref int dot, ref int absDot)
        where TAbs : struct, IAbsMode
        => I8GemvScalar.Finish<TAbs>(ref row, ref xr, kv, k, Vector128.Sum(d), (int)Vector128.Sum(a), ref dot, ref absDot);
}
