using System.Runtime.InteropServices;
using System.Text;

namespace EdgeMixedAccum.Npy;

/// <summary>
/// An n-dimensional array as stored in a .npy file: a dtype, a C-order (row-major) shape and the raw
/// little-endian element bytes. Shape () is a scalar (one element); any dimension may be 0.
/// </summary>
/// <remarks>
/// The element bytes are kept in one byte[], so an array holds at most <see cref="Array.MaxLength"/>
/// bytes. Typed access reinterprets those bytes, which assumes a little-endian host (every platform
/// .NET ships for today); <see cref="AsSpan{T}"/> throws on a big-endian host.
/// </remarks>
public sealed class NpyArray
{
    /// <summary>Most dimensions an array may have (numpy 2's NPY_MAXDIMS).</summary>
    public const int MaxRank = 64;

    private readonly int[] _shape;
    private readonly byte[] _data;

    public NpyDType DType { get; }

    /// <summary>A copy of the shape (mutating it does not change the array).</summary>
    public int[] Shape => (int[])_shape.Clone();

    public int Rank => _shape.Length;

    /// <summary>Number of elements: the product of the shape (1 for a scalar).</summary>
    public long ElementCount { get; }

    /// <summary>Size of the element data in bytes.</summary>
    public int ByteCount => _data.Length;

    /// <summary>The raw little-endian element bytes, C order.</summary>
    public ReadOnlySpan<byte> RawBytes => _data;

    /// <summary>Creates an array from raw little-endian element bytes (copied).</summary>
    /// <exception cref="EmaException">shape invalid or data length not ElementCount * ItemSize.</exception>
    public NpyArray(NpyDType dtype, ReadOnlySpan<int> shape, ReadOnlySpan<byte> data)
        : this(dtype, shape.ToArray(), data.ToArray(), validated: false) { }

    /// <summary>Takes ownership of <paramref name="shape"/> and <paramref name="data"/> (no copy).</summary>
    internal NpyArray(NpyDType dtype, int[] shape, byte[] data, bool validated)
    {
        _ = dtype.ItemSize(); // rejects undefined enum values
        if (!validated)
        {
            long count = CountElements(shape);
            long expected = count * dtype.ItemSize(); // count <= Array.MaxLength, cannot overflow
            if (expected != data.Length)
                throw new EmaException(
                    $"shape {FormatShape(shape)} of dtype {dtype} needs {expected} bytes but {data.Length} were given");
        }
        DType = dtype;
        _shape = shape;
        _data = data;
        ElementCount = data.Length / dtype.ItemSize();
    }

    /// <summary>
    /// Checked product of the dimensions. Throws EmaException for a negative dimension, too many
    /// dimensions, or a product that would not fit one byte[] even at 1 byte per element.
    /// </summary>
    internal static long CountElements(ReadOnlySpan<int> shape)
    {
        if (shape.Length > MaxRank)
            throw new EmaException($"shape has {shape.Length} dimensions; at most {MaxRank} are supported");
        long count = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0)
                throw new EmaException($"shape {FormatShape(shape)} has a negative dimension {shape[i]} at axis {i}");
        }
        if (shape.IndexOf(0) >= 0) return 0;
        for (int i = 0; i < shape.Length; i++)
        {
            count *= shape[i]; // each factor <= int.MaxValue and count <= Array.MaxLength: no overflow
            if (count > Array.MaxLength)
                throw new EmaException($"shape {FormatShape(shape)} has too many elements for one array");
        }
        return count;
    }

    // ---------------------------------------------------------------- factories

    public static NpyArray FromFloat32(float[] data, params int[] shape) => From(NpyDType.Float32, data, shape);
    public static NpyArray FromFloat16(Half[] data, params int[] shape) => From(NpyDType.Float16, data, shape);
    public static NpyArray FromFloat64(double[] data, params int[] shape) => From(NpyDType.Float64, data, shape);
    public static NpyArray FromInt8(sbyte[] data, params int[] shape) => From(NpyDType.Int8, data, shape);
    public static NpyArray FromUInt8(byte[] data, params int[] shape) => From(NpyDType.UInt8, data, shape);
    public static NpyArray FromInt32(int[] data, params int[] shape) => From(NpyDType.Int32, data, shape);
    public static NpyArray FromInt64(long[] data, params int[] shape) => From(NpyDType.Int64, data, shape);

    private static NpyArray From<T>(NpyDType dtype, T[] data, int[] shape) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        RequireLittleEndianHost();
        int[] s = (int[])shape.Clone();
        long count = CountElements(s);
        if (count != data.Length)
            throw new EmaException(
                $"data has {data.Length} elements but shape {FormatShape(s)} holds {count}" +
                (s.Length == 0 ? $" (shape () is a scalar; for a 1-D array pass the shape explicitly, e.g. ({data.Length},))" : ""));
        if ((long)data.Length * dtype.ItemSize() > Array.MaxLength)
            throw new EmaException($"array of {data.Length} {dtype} elements exceeds {Array.MaxLength} bytes");
        byte[] bytes = MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
        return new NpyArray(dtype, s, bytes, validated: true);
    }

    // ---------------------------------------------------------------- access

    /// <summary>The elements as a writable span; <typeparamref name="T"/> must be the dtype's CLR type
    /// (float, Half, sbyte, byte, int, long, double).</summary>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        if (typeof(T) != DType.ClrType())
            throw new EmaException(
                $"AsSpan<{typeof(T).Name}>() does not match dtype {DType} ('{DType.Descr()}'); use AsSpan<{DType.ClrType().Name}>()");
        RequireLittleEndianHost();
        return MemoryMarshal.Cast<byte, T>(_data.AsSpan());
    }

    /// <summary>Converts every element to float32 (float16 and integers exactly up to 2^24; int32/int64 beyond
    /// that and float64 round to nearest).</summary>
    public float[] ToFloat32()
    {
        var r = new float[ElementCount];
        switch (DType)
        {
            case NpyDType.Float32: AsSpan<float>().CopyTo(r); break;
            case NpyDType.Float16: { var s = AsSpan<Half>(); for (int i = 0; i < r.Length; i++) r[i] = (float)s[i]; break; }
            case NpyDType.Float64: { var s = AsSpan<double>(); for (int i = 0; i < r.Length; i++) r[i] = (float)s[i]; break; }
            case NpyDType.Int8: { var s = AsSpan<sbyte>(); for (int i = 0; i < r.Length; i++) r[i] = s[i]; break; }
            case NpyDType.UInt8: { var s = AsSpan<byte>(); for (int i = 0; i < r.Length; i++) r[i] = s[i]; break; }
            case NpyDType.Int32: { var s = AsSpan<int>(); for (int i = 0; i < r.Length; i++) r[i] = s[i]; break; }
            case NpyDType.Int64: { var s = AsSpan<long>(); for (int i = 0; i < r.Length; i++) r[i] = s[i]; break; }
            default: throw new EmaException($"ToFloat32: unsupported dtype {DType}");
        }
        return r;
    }

    /// <summary>Converts integer elements (int8, uint8, int32, int64) to int64, e.g. for class labels.
    /// Float dtypes are rejected: labels stored as floats must be converted explicitly by the caller.</summary>
    public long[] ToInt64()
    {
        if (DType.IsFloatingPoint())
            throw new EmaException(
                $"ToInt64() needs an integer dtype (int8, uint8, int32, int64) but the array is {DType} ('{DType.Descr()}'); " +
                "save labels as integers, e.g. labels.astype('<i8')");
        var r = new long[ElementCount];
        switch (DType)
        {
            case NpyDType.Int64: AsSpan<long>().CopyTo(r); break;
            case NpyDType.Int8: { var s = AsSpan<sbyte>(); for (int i = 0; i < r.Length; i++) r[i] = s[i]; break; }
            case NpyDType.UInt8: { var s = AsSpan<byte>(); for (int i = 0; i < r.Length; i++) r[i] = s[i]; break; }
            case NpyDType.Int32: { var s = AsSpan<int>(); for (int i = 0; i < r.Length; i++) r[i] = s[i]; break; }
            default: throw new EmaException($"ToInt64: unsupported dtype {DType}");
        }
        return r;
    }

    public override string ToString() => $"NpyArray({DType.Descr()}, shape {FormatShape(_shape)})";

    /// <summary>Python tuple spelling of a shape: (), (5,), (2, 3).</summary>
    internal static string FormatShape(ReadOnlySpan<int> shape)
    {
        var sb = new StringBuilder("(");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(shape[i]);
        }
        if (shape.Length == 1) sb.Append(',');
        return sb.Append(')').ToString();
    }

    private static void RequireLittleEndianHost()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("NpyArray typed access requires a little-endian host");
    }
}
