namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>The reference: per output, the quads unpacked and multiplied byte by byte in int32. Bounds-checked.</summary>
internal static class I8GemmNn4Scalar
{
    public static void Run(ReadOnlySpan<int> wq, ReadOnlySpan<int> xq, Span<int> dot, int rows, int kq, int n, int ldx)
    {
        I8GemmNn4Family.Check(wq, xq, dot, rows, kq, n, ldx);
        for (int i = 0; i < rows; i++)
            for (int q = 0; q < n; q++)
                dot[i * n + q] = Dot(wq.Slice(i * kq, kq), xq, q, ldx);
    }

    public static int Dot(ReadOnlySpan<int> wi, ReadOnlySpan<int> xq, int q, int ldx)
    {
        int acc = 0;
        for (int jq = 0; jq < wi.Length; jq++)
        {
            int a = wi[jq], b = xq[jq * ldx + q];
            for (int t = 0; t < 4; t++) acc += I8GemmNn4Pack.Byte(a, t) * I8GemmNn4Pack.Byte(b, t);
        }
        return acc;
    }
}
