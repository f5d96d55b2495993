namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>The reference: per output, the pairs unpacked and multiplied one by one in int32. Bounds-checked.</summary>
internal static class I8GemmNnScalar
{
    public static void Run(ReadOnlySpan<int> wp, ReadOnlySpan<int> xp, Span<int> dot, int rows, int kp, int n, int ldx)
    {
        I8GemmNnFamily.Check(wp, xp, dot, rows, kp, n, ldx);
        for (int i = 0; i < rows; i++)
            for (int q = 0; q < n; q++)
                dot[i * n + q] = Dot(wp.Slice(i * kp, kp), xp, q, ldx);
    }

    public static int Dot(ReadOnlySpan<int> wi, ReadOnlySpan<int> xp, int q, int ldx)
    {
        int acc = 0;
        for (int jp = 0; jp < wi.Length; jp++)
        {
            int a = wi[jp], b = xp[jp * ldx + q];
            acc += I8GemmNnPack.Lo(a) * I8GemmNnPack.Lo(b) + I8GemmNnPack.Hi(a) * I8GemmNnPack.Hi(b);
        }
        return acc;
    }
}
