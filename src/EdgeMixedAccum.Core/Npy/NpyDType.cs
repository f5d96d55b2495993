namespace EdgeMixedAccum.Npy;

/// <summary>Element types this project reads and writes in .npy files (all little-endian).</summary>
public enum NpyDType
{
    /// <summary>'&lt;f4'</summary>
    Float32,
    /// <summary>'&lt;f2' (IEEE binary16, System.Half)</summary>
    Float16,
    /// <summary>'|i1'</summary>
    Int8,
    /// <summary>'|u1' (typical for image data)</summary>
    UInt8,
    /// <summary>'&lt;i4'</summary>
    Int32,
    /// <summary>'&lt;i8'</summary>
    Int64,
    /// <summary>'&lt;f8'</summary>
    Float64,
}

public static class NpyDTypeExtensions
{
    /// <summary>Bytes per element.</summary>
    public static int ItemSize(this NpyDType t) => t switch
    {
        NpyDType.Float32 => 4,
        NpyDType.Float16 => 2,
        NpyDType.Int8 => 1,
        NpyDType.UInt8 => 1,
        NpyDType.Int32 => 4,
        NpyDType.Int64 => 8,
        NpyDType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown NpyDType"),
    };

    /// <summary>The descr string numpy writes for this type ('&lt;f4', '|i1', ...).</summary>
    public static string Descr(this NpyDType t) => t switch
    {
        NpyDType.Float32 => "<f4",
        NpyDType.Float16 => "<f2",
        NpyDType.Int8 => "|i1",
        NpyDType.UInt8 => "|u1",
        NpyDType.Int32 => "<i4",
        NpyDType.Int64 => "<i8",
        NpyDType.Float64 => "<f8",
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown NpyDType"),
    };

    /// <summary>The CLR element type that <see cref="NpyArray.AsSpan{T}"/> accepts for this dtype.</summary>
    public static Type ClrType(this NpyDType t) => t switch
    {
        NpyDType.Float32 => typeof(float),
        NpyDType.Float16 => typeof(Half),
        NpyDType.Int8 => typeof(sbyte),
        NpyDType.UInt8 => typeof(byte),
        NpyDType.Int32 => typeof(int),
        NpyDType.Int64 => typeof(long),
        NpyDType.Float64 => typeof(double),
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown NpyDType"),
    };

    /// <summary>True for Float16/Float32/Float64.</summary>
    public static bool IsFloatingPoint(this NpyDType t) =>
        t is NpyDType.Float16 or NpyDType.Float32 or NpyDType.Float64;

    /// <summary>
    /// Maps a header descr to a dtype. Accepts the little-endian forms numpy writes, plus any byte-order
    /// mark on the 1-byte types ('|i1', '&lt;i1', '&gt;i1', '=i1', same for u1). Returns null with a
    /// human-readable reason otherwise (big-endian, native '=', unsupported kinds).
    /// </summary>
    internal static NpyDType? FromDescr(string descr, out string problem)
    {
        problem = "";
        if (descr.Length == 3 && descr[1..] is "i1" or "u1" && descr[0] is '|' or '<' or '>' or '=')
            return descr[1] == 'i' ? NpyDType.Int8 : NpyDType.UInt8;
        switch (descr)
        {
            case "<f4": return NpyDType.Float32;
            case "<f2": return NpyDType.Float16;
            case "<i4": return NpyDType.Int32;
            case "<i8": return NpyDType.Int64;
            case "<f8": return NpyDType.Float64;
        }
        if (descr.Length >= 2 && descr[0] == '>' && FromDescr("<" + descr[1..], out _) is not null)
            problem = $"big-endian dtype '{descr}' is not supported; save a little-endian copy, e.g. a.astype('<{descr[1..]}')";
        else if (descr.Length >= 2 && descr[0] is '=' or '|' && FromDescr("<" + descr[1..], out _) is not null)
            problem = $"dtype '{descr}' has no explicit little-endian byte order ('<'); it is not supported";
        else
            problem = $"unsupported dtype '{descr}'; supported: '<f4', '<f2', '<f8', '|i1', '|u1', '<i4', '<i8'";
        return null;
    }
}
