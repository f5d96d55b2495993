// f16acc GEMV, exact emulation on portable Vector128<double> (SSE/AVX on x64, AdvSimd on Cortex-A72/A57):
// the same arithmetic as F16Gemv.Emulated.cs, two lanes per vector, four vectors for the eight lanes.
//
// Order (defined in F16Gemv.cs, identical to F16Gemv.Emulated.cs and runtime/native/f16acc.c): 8 fp16 lanes
// from +0; acc_(j mod 8) = fma16(w[j], x[j], acc_(j mod 8)) for j = 0..k-1 (one rounding per step: exact
// product in double, TwoSum + round-to-odd fix-up, one RNE to fp16); then
// y = ((a0+a1)+(a2+a3)) + ((a4+a5)+(a6+a7)) in fp16. Full blocks of 8 run here in vectors; the k mod 8 tail
// and the final tree run through the scalar helpers on the stored lanes. absDot: same lanes and tree in fp32.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

public static class F16GemvVector128
{
    public static void Gemv(ReadOnlySpan<Half> w, ReadOnlySpan<Half> x, Span<Half> y, Span<float> absDot, int rows, int k)
    {
        F16Gemv.CheckArgs(w, x, y, absDot, rows, k);
        bool wantAbs = !absDot.IsEmpty;
        Span<double> lanes = stackalloc double[8];
        Span<float> absLanes = stackalloc float[8];
        ReadOnlySpan<ushort> xb = System.Runtime.InteropServices.MemoryMarshal.Cast<Half, ushort>(x[..k]);
        ReadOnlySpan<ushort> wAll = System.Runtime.InteropServices.MemoryMarshal.Cast<Half, ushort>(w);
        for (int i = 0; i < rows; i++)
        {
            ReadOnlySpan<ushort> wb = wAll.Slice(i * k, k);
            var a0 = Vector128<double>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
            var s0 = Vector128<float>.Zero; var s1 = s0;
            int j = 0;
            for (; j <= k - 8; j += 8)
            {
                var wv = Vector128.Create(wb.Slice(j, 8));
                var xv = Vector128.Create(xb.Slice(j, 8));
                ToDouble(wv, out var w0, out var w1, out var w2, out var w3);
                ToDouble(xv, out var x0, out var x1, out var x2, out var x3);
                var p0 = w0 * x0; var p1 = w1 * x1; var p2 = w2 * x2; var p3 = w3 * x3;   // exact
                a0 = Fma16(p0, a0); a1 = Fma16(p1, a1); a2 = Fma16(p2, a2); a3 = Fma16(p3, a3);
                if (wantAbs)
                {
                    // |w x| is exact in double and in fp32, so narrowing it is exact: fp32 lane sums as specified.
                    s0 += Vector128.Narrow(Vector128.Abs(p0), Vector128.Abs(p1));
                    s1 += Vector128.Narrow(Vector128.Abs(p2), Vector128.Abs(p3));
                }
            }
            a0.CopyTo(lanes); a1.CopyTo(lanes[2..]); a2.CopyTo(lanes[4..]); a3.CopyTo(lanes[6..]);
            ReadOnlySpan<Half> wr = w.Slice(i * k, k);
            for (int l = 0; j + l < k; l++)
                lanes[l] = F16GemvEmulated.Fma16(F16GemvEmulated.D(wr[j + l]), F16GemvEmulated.D(x[j + l]), lanes[l]);
            double s = F16GemvEmulated.Add16(
                F16GemvEmulated.Add16(F16GemvEmulated.Add16(lanes[0], lanes[1]), F16GemvEmulated.Add16(lanes[2], lanes[3])),
                F16GemvEmulated.Add16(F16GemvEmulated.Add16(lanes[4], lanes[5]), F16GemvEmulated.Add16(lanes[6], lanes[7])));
            y[i] = double.IsNaN(s) ? BitConverter.UInt16BitsToHalf(F16Gemv.DefaultNaNBits) : (Half)s;
            if (wantAbs)
            {
                s0.CopyTo(absLanes); s1.CopyTo(absLanes[4..]);
                for (int l = 0; j + l < k; l++)
                    absLanes[l] += MathF.Abs((float)wr[j + l]) * MathF.Abs((float)x[j + l]);
                float t = ((absLanes[0] + absLanes[1]) + (absLanes[2] + absLanes[3])) + ((absLanes[4] + absLanes[5]) + (absLanes[6] + absLanes[7]));
                absDot[i] = float.IsNaN(t) ? BitConverter.UInt32BitsToSingle(F16Gemv.DefaultNaNBits32) : t;
            }
        }
    }

    /// <summary>Eight fp16 bit patterns to four vectors of two exact doubles (lanes 0-1, 2-3, 4-5, 6-7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ToDouble(Vector128<ushort> h, out Vector128<double> d0, out Vector128<double> d1, out Vector128<double> d2, out Vector128<double> d3)
    {
        var lo = Vector128.WidenLower(h); var hi = Vector128.WidenUpper(h);
        d0 = One(Vector128.WidenLower(lo)); d1 = One(Vector128.WidenUpper(lo));
        d2 = One(Vector128.WidenLower(hi)); d3 = One(Vector128.WidenUpper(hi));
    }

    /// <summary>(double)h as in F16GemvEmulated.D: magnitude bits at the top of the double, times 2^1008;
    /// inf/NaN built directly (fraction bits moved to the top, so the quiet bit stays the quiet bit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> One(Vector128<ulong> b)
    {
        var sign = (b & Vector128.Create(0x8000UL)) << 48;
        var mag = ((b & Vector128.Create(0x7FFFUL)) << 42).AsDouble() * Vector128.Create(Two1008);
        var special = ((b & Vector128.Create(0x3FFUL)) << 42) | Vector128.Create(0x7FF0_0000_0000_0000UL);
        var isSpecial = Vector128.Equals(b & Vector128.Create(0x7C00UL), Vector128.Create(0x7C00UL));
        return (Vector128.ConditionalSelect(isSpecial, special, mag.AsUInt64()) | sign).AsDouble();
    }

    private static readonly double Two1008 = BitConverter.Int64BitsToDouble((long)(1008 + 1023) << 52);

    /// <summary>RNE_fp16(p + c), p an exact product, lane-wise; as F16GemvEmulated.Fma16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> Fma16(Vector128<double> p, Vector128<double> c)
    {
        var s = c + p;
        var bb = s - c;
        var lo = (c - (s - bb)) + (p - bb);
        var sb = s.AsInt64();
        var expMask = Vector128.Create(0x7FF0_0000_0000_0000L);
        // round to odd where lo != 0 (NaN counts), s finite and s even: step one ulp towards lo.
        var fix = ~Vector128.Equals(lo, Vector128<double>.Zero).AsInt64()
                  & ~Vector128.Equals(sb & expMask, expMask)
                  & Vector128.Equals(sb & Vector128<long>.One, Vector128<long>.Zero);
        var step = Vector128.ShiftRightArithmetic(sb ^ lo.AsInt64(), 63) | Vector128<long>.One;   // -1 or +1
        s = (sb + (step & fix)).AsDouble();
        return Round16(s);
    }

    /// <summary>As F16GemvEmulated.Round16, lane-wise: one double addition of 1.5 * 2^(e+42) rounds to the
    /// fp16 quantum of the binade (e clamped to [-14, 16]: inf/NaN pass through the additions unchanged).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> Round16(Vector128<double> s)
    {
        var sb = s.AsInt64();
        var signMask = Vector128.Create(long.MinValue);
        var e = Vector128.ShiftRightLogical(sb, 52) & Vector128.Create(0x7FFL);
        e = Vector128.Min(Vector128.Max(e, Vector128.Create(1023L - 14)), Vector128.Create(1023L + 16));
        var c = Vector128.ShiftLeft(e + Vector128.Create(42L), 52).AsDouble() * Vector128.Create(1.5);
        var r = (s + c) - c;
        var sign = sb & signMask;
        r = ((r.AsInt64() & ~signMask) | sign).AsDouble();
        var inf = (sign | Vector128.Create(0x7FF0_0000_0000_0000L)).AsDouble();
        return Vector128.ConditionalSelect(Vector128.GreaterThan(Vector128.Abs(r), Vector128.Create(65504.0)), inf, r);
    }
}
