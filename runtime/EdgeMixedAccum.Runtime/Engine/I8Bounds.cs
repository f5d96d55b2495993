using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>
/// int8 layer, per component i of one unit: s_hat_i = fp32(dot_i * (scale_i * s_x) + b_i) and the two error bounds
/// of docs/engine.md ("The bounds"): rigorous = e_max ||w_i||_1 + ||w_i - s_i q_i||_inf ||x||_1 + arith, and the flag
/// bound with min(e_max ||w_i||_1, 2 e_max ||w_i||_2) in place of the first term (probabilistic), arith covering the
/// rounding of the fp64 scale-and-add and of the final fp32 conversion. <see cref="Scalar"/> is the reference;
/// <see cref="Vector"/> runs the same IEEE double operations in the same order in Vector128 lanes (no FMA), so
/// its results are bit-identical (a test checks). The scalar loop was a fifth of an int8 batch-64 run.
/// Contract: every span holds at least dot.Length elements.
/// </summary>
internal static class I8Bounds
{
    public readonly ref struct Row(ReadOnlySpan<float> scale, ReadOnlySpan<float> bias, ReadOnlySpan<float> diff, ReadOnlySpan<float> l1, ReadOnlySpan<float> l2)
    {
        public readonly ReadOnlySpan<float> Scale = scale, Bias = bias, Diff = diff, L1 = l1, L2 = l2;
    }

    /// <summary>The per-channel part of the flag bound, (rigorous ? e_max ||w||_1 : min(e_max ||w||_1, 2 e_max ||w||_2))
    /// + ||w - s q||_inf ||x||_1, in <see cref="Scalar"/>'s operations (so <see cref="Channel"/> adds the per-component
    /// terms to the same double).</summary>
    public static double FlagConstant(float diff, float l1, float l2, double emax, double xl1, bool rigorous)
    {
        double rig = emax * l1;
        return (rigorous ? rig : Math.Min(rig, 2 * emax * l2)) + diff * xl1;
    }

    public static void Scalar(ReadOnlySpan<int> dot, in Row w, double sx, double emax, double xl1, bool rigorous,
        Span<float> s, Span<double> bRig, Span<double> bFlag)
    {
        for (int i = 0; i < dot.Length; i++)
        {
            double prod = dot[i] * (w.Scale[i] * sx);
            float sh = (float)(prod + w.Bias[i]);
            s[i] = sh;
            double arith = ErrorModel.U32 * 2 * Math.Abs(sh) + 2.3e-16 * (Math.Abs(prod) + Math.Abs(w.Bias[i]));
            double weights = w.Diff[i] * xl1;
            double rig = emax * w.L1[i];
            bRig[i] = rig + weights + arith;
            bFlag[i] = (rigorous ? rig : Math.Min(rig, 2 * emax * w.L2[i])) + weights + arith;
        }
    }

    public static void Vector(ReadOnlySpan<int> dot, in Row w, double sx, double emax, double xl1, bool rigorous,
        Span<float> s, Span<double> bRig, Span<double> bFlag)
    {
        int n = dot.Length, i = 0;
        if (Vector128.IsHardwareAccelerated && n >= 4)
        {
            if (w.Scale.Length < n || w.Bias.Length < n || w.Diff.Length < n || w.L1.Length < n || w.L2.Length < n
                || s.Length < n || bRig.Length < n || bFlag.Length < n)
                throw new ArgumentException("I8Bounds: a span is shorter than dot");
            ref int dr = ref MemoryMarshal.GetReference(dot);
            ref float sc = ref MemoryMarshal.GetReference(w.Scale), bi = ref MemoryMarshal.GetReference(w.Bias),
                df = ref MemoryMarshal.GetReference(w.Diff), n1 = ref MemoryMarshal.GetReference(w.L1), n2 = ref MemoryMarshal.GetReference(w.L2);
            ref float sr = ref MemoryMarshal.GetReference(s);
            ref double rr = ref MemoryMarshal.GetReference(bRig), fr = ref MemoryMarshal.GetReference(bFlag);
            var vsx = Vector128.Create(sx);
            var vemax = Vector128.Create(emax);
            var vl1 = Vector128.Create(xl1);
            for (; i + 4 <= n; i += 4)
            {
                var (d0, d1) = Vector128.Widen(Vector128.LoadUnsafe(ref dr, (nuint)i));
                var (c0, c1) = Vector128.Widen(Vector128.LoadUnsafe(ref sc, (nuint)i));
                var (b0, b1) = Vector128.Widen(Vector128.LoadUnsafe(ref bi, (nuint)i));
                var p0 = Vector128.ConvertToDouble(d0) * (c0 * vsx);
                var p1 = Vector128.ConvertToDouble(d1) * (c1 * vsx);
                var sh = Vector128.Narrow(p0 + b0, p1 + b1);
                sh.StoreUnsafe(ref sr, (nuint)i);
                var (h0, h1) = Vector128.Widen(Vector128.Abs(sh));
                var a0 = h0 * (ErrorModel.U32 * 2) + (Vector128.Abs(p0) + Vector128.Abs(b0)) * 2.3e-16;
                var a1 = h1 * (ErrorModel.U32 * 2) + (Vector128.Abs(p1) + Vector128.Abs(b1)) * 2.3e-16;
                var (q0, q1) = Vector128.Widen(Vector128.LoadUnsafe(ref df, (nuint)i));
                var w0 = q0 * vl1; var w1 = q1 * vl1;
                var (l0, l1) = Vector128.Widen(Vector128.LoadUnsafe(ref n1, (nuint)i));
                var r0 = vemax * l0; var r1 = vemax * l1;
                (r0 + w0 + a0).StoreUnsafe(ref rr, (nuint)i);
                (r1 + w1 + a1).StoreUnsafe(ref rr, (nuint)(i + 2));
                if (!rigorous)
                {
                    var (m0, m1) = Vector128.Widen(Vector128.LoadUnsafe(ref n2, (nuint)i));
                    // Math.Min(rig, 2 emax l2): both are finite and non-negative here, so the lane minimum is the same.
                    r0 = Vector128.Min(r0, vemax * 2.0 * m0);
                    r1 = Vector128.Min(r1, vemax * 2.0 * m1);
                }
                (r0 + w0 + a0).StoreUnsafe(ref fr, (nuint)i);
                (r1 + w1 + a1).StoreUnsafe(ref fr, (nuint)(i + 2));
            }
        }
        if (i < n)
            Scalar(dot[i..], new Row(w.Scale[i..], w.Bias[i..], w.Diff[i..], w.L1[i..], w.L2[i..]), sx, emax, xl1, rigorous,
                s[i..], bRig[i..], bFlag[i..]);
    }

    /// <summary>
    /// <see cref="Scalar"/> for one output channel over many positions (the conv panel path): the channel's
    /// scale, bias and norms are scalars, dot holds its int32 sums at each position. The per-channel terms are
    /// added first, as in Scalar ((rig + weights) + arith), so every result is bit-identical to Scalar run on
    /// arrays filled with the channel's constants (a test checks). Vector512 double lanes on AVX-512, Vector256 on AVX2,
    /// then Vector128 (NEON; the others' tails), then scalar for the last odd component.
    /// Contract: s holds at least dot.Length elements; bRig and bFlag as many, or none (empty: that bound is not
    /// written: the rigorous bound in a run without a trace, its only reader; the flag bound where the flag test
    /// encloses it from s instead, <see cref="ChannelBound"/>).
    /// </summary>
    public static void Channel(ReadOnlySpan<int> dot, float scale, float bias, float diff, float l1, float l2, double sx, double emax, double xl1,
        bool rigorous, Span<float> s, Span<double> bRig, Span<double> bFlag) =>
        Channel(dot, scale, bias, diff, l1, l2, sx, emax, xl1, rigorous, s, bRig, bFlag, LaneWidth.Best);

    /// <param name="width">The widest loop to run (<see cref="LaneWidth"/>): tests check each.</param>
    internal static void Channel(ReadOnlySpan<int> dot, float scale, float bias, float diff, float l1, float l2, double sx, double emax, double xl1,
        bool rigorous, Span<float> s, Span<double> bRig, Span<double> bFlag, int width)
    {
        int n = dot.Length, i = 0;
        width = Math.Min(width, LaneWidth.Best);
        bool withRig = !bRig.IsEmpty, withFlag = !bFlag.IsEmpty, bounds = withRig | withFlag;
        if (s.Length < n || (withRig && bRig.Length < n) || (withFlag && bFlag.Length < n)) throw new ArgumentException("I8Bounds.Channel: an output span is shorter than dot");
        double cRig = emax * l1 + diff * xl1;
        double cFlag = FlagConstant(diff, l1, l2, emax, xl1, rigorous);
        double k = scale * sx, b = bias, absB = Math.Abs(b);
        ref int dr = ref MemoryMarshal.GetReference(dot);
        ref float sr = ref MemoryMarshal.GetReference(s);
        ref double rr = ref MemoryMarshal.GetReference(bRig), fr = ref MemoryMarshal.GetReference(bFlag);
        if (width >= 512)
        {
            var vk = Vector512.Create(k); var vb = Vector512.Create(b); var vab = Vector512.Create(absB);
            var vr = Vector512.Create(cRig); var vf = Vector512.Create(cFlag);
            for (; i + 16 <= n; i += 16)
            {
                var (d0, d1) = Vector512.Widen(Vector512.LoadUnsafe(ref dr, (nuint)i));
                var p0 = Vector512.ConvertToDouble(d0) * vk;
                var p1 = Vector512.ConvertToDouble(d1) * vk;
                var sh = Vector512.Narrow(p0 + vb, p1 + vb);
                sh.StoreUnsafe(ref sr, (nuint)i);
                if (!bounds) continue;
                var (h0, h1) = Vector512.Widen(Vector512.Abs(sh));
                var a0 = h0 * (ErrorModel.U32 * 2) + (Vector512.Abs(p0) + vab) * 2.3e-16;
                var a1 = h1 * (ErrorModel.U32 * 2) + (Vector512.Abs(p1) + vab) * 2.3e-16;
                if (withRig) { (vr + a0).StoreUnsafe(ref rr, (nuint)i); (vr + a1).StoreUnsafe(ref rr, (nuint)(i + 8)); }
                if (withFlag) { (vf + a0).StoreUnsafe(ref fr, (nuint)i); (vf + a1).StoreUnsafe(ref fr, (nuint)(i + 8)); }
            }
        }
        else if (width >= 256)
        {
            // AVX2: int32 -> double by VCVTDQ2PD on each half (AVX2 has no int64 -> double for Widen's form).
            var vk = Vector256.Create(k); var vb = Vector256.Create(b); var vab = Vector256.Create(absB);
            var vr = Vector256.Create(cRig); var vf = Vector256.Create(cFlag);
            for (; i + 8 <= n; i += 8)
            {
                var d = Vector256.LoadUnsafe(ref dr, (nuint)i);
                var p0 = Avx.ConvertToVector256Double(d.GetLower()) * vk;
                var p1 = Avx.ConvertToVector256Double(d.GetUpper()) * vk;
                var sh = Vector256.Narrow(p0 + vb, p1 + vb);
                sh.StoreUnsafe(ref sr, (nuint)i);
                if (!bounds) continue;
                var (h0, h1) = Vector256.Widen(Vector256.Abs(sh));
                var a0 = h0 * (ErrorModel.U32 * 2) + (Vector256.Abs(p0) + vab) * 2.3e-16;
                var a1 = h1 * (ErrorModel.U32 * 2) + (Vector256.Abs(p1) + vab) * 2.3e-16;
                if (withRig) { (vr + a0).StoreUnsafe(ref rr, (nuint)i); (vr + a1).StoreUnsafe(ref rr, (nuint)(i + 4)); }
                if (withFlag) { (vf + a0).StoreUnsafe(ref fr, (nuint)i); (vf + a1).StoreUnsafe(ref fr, (nuint)(i + 4)); }
            }
        }
        if (width >= 128)
        {
            var vk = Vector128.Create(k); var vb = Vector128.Create(b); var vab = Vector128.Create(absB);
            var vr = Vector128.Create(cRig); var vf = Vector128.Create(cFlag);
            if (!bounds) // s_hat alone (the untraced int8 conv rows): its own loop, eight per step, no test per block
                for (; i + 8 <= n; i += 8)
                {
                    SHat(ref dr, ref sr, i, vk, vb);
                    SHat(ref dr, ref sr, i + 4, vk, vb);
                }
            for (; i + 4 <= n; i += 4)
            {
                var (p0, p1, sh) = SHat(ref dr, ref sr, i, vk, vb);
                if (!bounds) continue;
                var (h0, h1) = Vector128.Widen(Vector128.Abs(sh));
                var a0 = h0 * (ErrorModel.U32 * 2) + (Vector128.Abs(p0) + vab) * 2.3e-16;
                var a1 = h1 * (ErrorModel.U32 * 2) + (Vector128.Abs(p1) + vab) * 2.3e-16;
                if (withRig) { (vr + a0).StoreUnsafe(ref rr, (nuint)i); (vr + a1).StoreUnsafe(ref rr, (nuint)(i + 2)); }
                if (withFlag) { (vf + a0).StoreUnsafe(ref fr, (nuint)i); (vf + a1).StoreUnsafe(ref fr, (nuint)(i + 2)); }
            }
        }
        for (; i < n; i++)
        {
            double prod = dot[i] * k;
            float sh = (float)(prod + b);
            s[i] = sh;
            double arith = ErrorModel.U32 * 2 * Math.Abs(sh) + 2.3e-16 * (Math.Abs(prod) + absB);
            if (withRig) bRig[i] = cRig + arith;
            if (withFlag) bFlag[i] = cFlag + arith;
        }
    }

    /// <summary>Four components' s_hat = fp32(dot * k + b) in double lanes, stored; returns the products and s_hat.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<double>, Vector128<double>, Vector128<float>) SHat(ref int dr, ref float sr, int i, Vector128<double> vk, Vector128<double> vb)
    {
        var (d0, d1) = Vector128.Widen(Vector128.LoadUnsafe(ref dr, (nuint)i));
        var p0 = Vector128.ConvertToDouble(d0) * vk;
        var p1 = Vector128.ConvertToDouble(d1) * vk;
        var sh = Vector128.Narrow(p0 + vb, p1 + vb);
        sh.StoreUnsafe(ref sr, (nuint)i);
        return (p0, p1, sh);
    }
}
