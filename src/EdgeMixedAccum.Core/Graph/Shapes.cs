namespace EdgeMixedAccum.Graph;

/// <summary>
/// Shapes are <c>int[]</c>; the leading dimension of a graph value may be <see cref="Batch"/>, the
/// symbolic batch size. No other dimension is symbolic (static shapes everywhere else).
/// </summary>
public static class Shapes
{
    /// <summary>The symbolic batch dimension (only ever at index 0).</summary>
    public const int Batch = -1;

    /// <summary>Upper limit on the elements of any one tensor or value: rejects absurd dimensions early.</summary>
    public const long MaxElements = 1L << 31;

    public static string Format(ReadOnlySpan<int> shape)
    {
        var parts = new string[shape.Length];
        for (int i = 0; i < shape.Length; i++) parts[i] = shape[i] == Batch ? "N" : shape[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        return "[" + string.Join(", ", parts) + "]";
    }

    /// <summary>Element count of a fully static shape, checked against <see cref="MaxElements"/>.</summary>
    public static long Elements(ReadOnlySpan<int> shape, string where)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new EmaException($"{where}: shape {Format(shape)} is not static");
            n *= d; // d <= int.MaxValue and n <= MaxElements keep this within long
            if (n > MaxElements) throw new EmaException($"{where}: shape {Format(shape)} has more than {MaxElements} elements");
        }
        return n;
    }

    /// <summary>Elements per batch item: the product of all dims after the first symbolic or concrete batch dim.</summary>
    public static long ElementsAfter(ReadOnlySpan<int> shape, int axis, string where) => Elements(shape[axis..], where);

    /// <summary>Checks a value shape: dims &gt;= 0 except a symbolic batch at index 0, element count bounded.</summary>
    public static void Validate(ReadOnlySpan<int> shape, string where, bool allowBatch)
    {
        if (shape.Length > 8) throw new EmaException($"{where}: rank {shape.Length} exceeds the maximum of 8");
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == Batch && i == 0 && allowBatch) continue;
            if (shape[i] < 0) throw new EmaException($"{where}: dimension {i} of {Format(shape)} is negative");
        }
        Elements(shape[(shape.Length > 0 && shape[0] == Batch && allowBatch ? 1 : 0)..], where);
    }

    /// <summary>Replaces a symbolic batch dimension by a concrete one.</summary>
    public static int[] Resolve(int[] shape, int batch)
    {
        if (shape.Length == 0 || shape[0] != Batch) return shape;
        var r = (int[])shape.Clone();
        r[0] = batch;
        return r;
    }

    public static bool SameAs(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);
}
