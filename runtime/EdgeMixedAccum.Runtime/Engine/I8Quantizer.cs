using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>
/// Symmetric int8 quantisation of one sample with the statistics the bounds need (docs/engine.md, step 1):
/// q_j = clamp(round_even(x_j / s), -127, 127), e_max = max_j |x_j - s q_j| and ||x||_1. <see cref="Scalar"/> is
/// the reference; <see cref="Vector"/> gives the same q and e_max bit for bit (each difference by one fused
/// multiply-add, exact where the loop's check holds, else e_max again in the reference's operations: the remarks
/// of Vector) and ||x||_1 summed in another order, which the
/// callers' inflation (n + 2) 1.2e-16 covers for any order. The scalar loop was 12% of an int8 batch-1 run.
/// Contract: q.Length &gt;= x.Length, s &gt; 0 with a finite 1/s. A NaN or infinite x_j makes ||x||_1 non-finite
/// (finite floats cannot overflow a double sum): the callers' finiteness test under a static scale; q and e_max are
/// then unspecified (no fault), and the callers discard them.
/// </summary>
internal static class I8Quantizer
{
    /// <summary>max_j |x_j|, and whether every x_j is finite (vectorised; NaN-safe: a NaN never hides in the max
    /// because finiteness is tracked separately through x * 0).</summary>
    public static float MaxAbs(ReadOnlySpan<float> x, out bool finite) => MaxAbs(x, out finite, LaneWidth.Best);

    /// <param name="width">The widest loop to run (<see cref="LaneWidth"/>): tests check each.</param>
    internal static float MaxAbs(ReadOnlySpan<float> x, out bool finite, int width)
    {
        int n = x.Length, j = 0;
        width = Math.Min(width, LaneWidth.Best);
        float max = 0, zero = 0;
        if (width >= 512 && n >= 16)
        {
            ref float xr = ref MemoryMarshal.GetReference(x);
            Vector512<float> m = default, z = default;
            for (; j + 16 <= n; j += 16)
            {
                var v = Vector512.LoadUnsafe(ref xr, (nuint)j);
                m = Vector512.Max(m, Vector512.Abs(v));
                z += v * Vector512<float>.Zero;
            }
            var m4 = Vector128.Max(Vector128.Max(m.GetLower().GetLower(), m.GetLower().GetUpper()), Vector128.Max(m.GetUpper().GetLower(), m.GetUpper().GetUpper()));
            max = MathF.Max(MathF.Max(m4[0], m4[1]), MathF.Max(m4[2], m4[3]));
            zero = Vector512.Sum(z);
        }
        if (width >= 256 && n - j >= 8)
        {
            ref float xr = ref MemoryMarshal.GetReference(x);
            Vector256<float> m = Vector256.Create(max), z = Vector256.Create(zero) * Vector256<float>.Zero;
            for (; j + 8 <= n; j += 8)
            {
                var v = Vector256.LoadUnsafe(ref xr, (nuint)j);
                m = Vector256.MaxNative(m, Vector256.Abs(v)); // a NaN may drop out of the max: z reports it
                z += v * Vector256<float>.Zero;
            }
            var m4 = Vector128.MaxNative(m.GetLower(), m.GetUpper());
            max = MathF.Max(MathF.Max(m4[0], m4[1]), MathF.Max(m4[2], m4[3]));
            zero = Vector256.Sum(z);
        }
        if (width >= 128 && n - j >= 4)
        {
            ref float xr = ref MemoryMarshal.GetReference(x);
            Vector128<float> m = Vector128.Create(max), z = Vector128.Create(zero) * Vector128<float>.Zero;
            for (; j + 4 <= n; j += 4)
            {
                var v = Vector128.LoadUnsafe(ref xr, (nuint)j);
                m = Vector128.Max(m, Vector128.Abs(v));
                z += v * Vector128<float>.Zero; // NaN for a NaN or an infinity, else 0
            }
            max = MathF.Max(MathF.Max(m[0], m[1]), MathF.Max(m[2], m[3]));
            zero += z[0] + z[1] + z[2] + z[3];
        }
        for (; j < n; j++) { max = MathF.Max(max, MathF.Abs(x[j])); zero += x[j] * 0f; }
        finite = zero == 0;
        return max;
    }

    public static void Scalar(ReadOnlySpan<float> x, Span<sbyte> q, float s, out double emax, out double l1)
    {
        float inv = 1f / s;
        double e = 0, l = 0;
        for (int j = 0; j < x.Length; j++)
        {
            float v = x[j];
            float r = Math.Clamp(MathF.Round(v * inv, MidpointRounding.ToEven), -127f, 127f);
            q[j] = (sbyte)(int)r;
            e = Math.Max(e, Math.Abs(v - r * (double)s));
            l += Math.Abs(v);
        }
        emax = e; l1 = l;
    }

    public static void Vector(ReadOnlySpan<float> x, Span<sbyte> q, float s, out double emax, out double l1) =>
        Vector(x, q, s, out emax, out l1, LaneWidth.Best);

    /// <param name="width">The widest loop to run (<see cref="LaneWidth"/>): tests check each.</param>
    /// <remarks>
    /// e_max in float lanes, exactly: d = x - s q by one fused multiply-add (one rounding) is exact whenever |d| &lt; P,
    /// P the largest power of two at most s. Where ulp(x) &gt;= ulp(s), d is a multiple of ulp(s) and below 2P needs at
    /// most 24 bits; where x lies in the binade below s's, q is 0 (d = x) or +-1 and d a multiple of ulp(s)/2, so
    /// below P it fits; further below, x / s &lt; 1/2 and the rounding of x * (1/s) cannot pass 1/2 (a tie goes to
    /// 0), so q = 0. Rounding is monotone and P a float, so a computed maximum below P means every d was exact and
    /// the maximum is the reference's (its double operations are exact too): bit for bit. Otherwise (clipped elements
    /// of a static scale, or |d| reaching P through the rounding of x / s) the reference runs over the row again. One FMLS, FABS and FMAX per four elements on NEON instead of widening both operands to two double lanes.
    /// </remarks>
    internal static void Vector(ReadOnlySpan<float> x, Span<sbyte> q, float s, out double emax, out double l1, int width)
    {
        width = Math.Min(width, LaneWidth.Best);
        if (width < 128 || x.Length < 4) { Scalar(x, q, s, out emax, out l1); return; }
        if (q.Length < x.Length) throw new ArgumentException("q is shorter than x");
        float inv = 1f / s;
        var vinv = Vector128.Create(inv);
        var lo = Vector128.Create(-127f);
        var hi = Vector128.Create(127f);
        var ns = Vector128.Create(-s);
        Vector128<float> e = default;
        Vector128<double> l = default;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref sbyte qr = ref MemoryMarshal.GetReference(q);
        int n = x.Length, j = 0;
        if (width >= 512)
        {
            // The same lane operations, 16 at a time.
            var winv = Vector512.Create(inv);
            var wlo = Vector512.Create(-127f);
            var whi = Vector512.Create(127f);
            var wns = Vector512.Create(-s);
            Vector512<float> we = default;
            Vector512<double> wl = default;
            for (; j + 16 <= n; j += 16)
            {
                var v = Vector512.LoadUnsafe(ref xr, (nuint)j);
                var r = Vector512.MinNative(Vector512.MaxNative(Vector512.Round(v * winv), wlo), whi); // x finite: no NaN, no signed-zero tie
                var i32 = Vector512.ConvertToInt32(r);
                var i16 = Vector512.Narrow(i32, i32);
                var i8 = Vector512.Narrow(i16, i16);
                Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref qr, j)), i8.AsInt64().GetLower().GetLower().AsByte());
                we = Vector512.MaxNative(we, Vector512.Abs(Vector512.FusedMultiplyAdd(r, wns, v)));
                var (a0, a1) = Vector512.Widen(Vector512.Abs(v));
                wl += a0 + a1;
            }
            var e8 = Vector256.MaxNative(we.GetLower(), we.GetUpper());
            e = Vector128.MaxNative(e8.GetLower(), e8.GetUpper());
            var l4 = wl.GetLower() + wl.GetUpper();
            l = l4.GetLower() + l4.GetUpper();
        }
        else if (width >= 256)
        {
            // The same lane operations, 8 at a time (AVX2).
            var winv = Vector256.Create(inv);
            var wlo = Vector256.Create(-127f);
            var whi = Vector256.Create(127f);
            var wns = Vector256.Create(-s);
            Vector256<float> we = default;
            Vector256<double> wl = default;
            for (; j + 8 <= n; j += 8)
            {
                var v = Vector256.LoadUnsafe(ref xr, (nuint)j);
                var r = Vector256.MinNative(Vector256.MaxNative(Vector256.Round(v * winv), wlo), whi);
                var i32 = Vector256.ConvertToInt32Native(r); // r integral in [-127, 127]: no saturation to emulate
                var i16 = Vector256.Narrow(i32, i32);
                var i8 = Vector256.Narrow(i16, i16);
                Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref qr, j)), i8.AsInt64().ToScalar());
                we = Vector256.MaxNative(we, Vector256.Abs(Vector256.FusedMultiplyAdd(r, wns, v)));
                var (a0, a1) = Vector256.Widen(Vector256.Abs(v));
                wl += a0 + a1;
            }
            e = Vector128.MaxNative(we.GetLower(), we.GetUpper());
            l = wl.GetLower() + wl.GetUpper();
        }
        if (width == 128)
        {
            // NEON: 16 elements per step, so the narrowing to bytes ends in one 16-byte store (four elements per step
            // took 11 instructions of 38 to narrow and store 4 bytes).
            for (; j + 16 <= n; j += 16)
            {
                var v0 = Vector128.LoadUnsafe(ref xr, (nuint)j);
                var v1 = Vector128.LoadUnsafe(ref xr, (nuint)(j + 4));
                var v2 = Vector128.LoadUnsafe(ref xr, (nuint)(j + 8));
                var v3 = Vector128.LoadUnsafe(ref xr, (nuint)(j + 12));
                var r0 = Level(v0, vinv, lo, hi);
                var r1 = Level(v1, vinv, lo, hi);
                var r2 = Level(v2, vinv, lo, hi);
                var r3 = Level(v3, vinv, lo, hi);
                var b = Vector128.Narrow(
                    Vector128.Narrow(Vector128.ConvertToInt32Native(r0), Vector128.ConvertToInt32Native(r1)),
                    Vector128.Narrow(Vector128.ConvertToInt32Native(r2), Vector128.ConvertToInt32Native(r3)));
                b.StoreUnsafe(ref qr, (nuint)j);
                Errors(v0, r0, ns, ref e, ref l); Errors(v1, r1, ns, ref e, ref l);
                Errors(v2, r2, ns, ref e, ref l); Errors(v3, r3, ns, ref e, ref l);
            }
        }
        for (; j + 4 <= n; j += 4)
        {
            var v = Vector128.LoadUnsafe(ref xr, (nuint)j);
            var r = Level(v, vinv, lo, hi);
            var i32 = Vector128.ConvertToInt32(r);
            var i8 = Vector128.Narrow(Vector128.Narrow(i32, i32), Vector128<short>.Zero);
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref qr, j)), i8.AsInt32().ToScalar());
            Errors(v, r, ns, ref e, ref l);
        }
        float ef = MathF.Max(MathF.Max(e[0], e[1]), MathF.Max(e[2], e[3]));
        // P: the largest power of two at most s (0 for a subnormal s, which then always takes the reference's way).
        float p = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(s) & 0x7F800000);
        double em, ls = l[0] + l[1];
        if (ef < p) em = ef;
        else Scalar(x[..j], q[..j], s, out em, out _); // the reference itself (its q are the loops' q: the same bits again)
        if (j < n)
        {
            Scalar(x[j..], q[j..], s, out double et, out double lt);
            em = Math.Max(em, et); ls += lt;
        }
        emax = em; l1 = ls;
    }

    /// <summary>Four elements' levels round_even(x / s) clamped to [-127, 127]. For finite x there is no NaN and no
    /// signed-zero tie, so the one-instruction min/max give Math.Clamp's bits (a non-finite x's level is unspecified:
    /// the contract above).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Level(Vector128<float> v, Vector128<float> inv, Vector128<float> lo, Vector128<float> hi) =>
        Vector128.MinNative(Vector128.MaxNative(Vector128.Round(v * inv), lo), hi);

    /// <summary>Four elements' |x - s q| (one fused multiply-add: exact where the caller's check holds) into the running
    /// maximum e, and their |x| (in double) into the running sums l.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Errors(Vector128<float> v, Vector128<float> r, Vector128<float> negS, ref Vector128<float> e, ref Vector128<double> l)
    {
        e = Vector128.MaxNative(e, Vector128.Abs(Vector128.FusedMultiplyAdd(r, negS, v)));
        var (a0, a1) = Vector128.Widen(Vector128.Abs(v));
        l += a0 + a1;
    }
}
