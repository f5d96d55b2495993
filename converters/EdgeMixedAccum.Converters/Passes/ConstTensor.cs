using System.Globalization;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Passes;

/// <summary>ONNX element type codes (TensorProto.DataType) the importer knows by name.</summary>
public static class OnnxDataType
{
    public const int Undefined = 0, Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7,
        String = 8, Bool = 9, Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13, Complex64 = 14, Complex128 = 15, BFloat16 = 16;

    public static bool IsFloat(int t) => t is Float or Float16 or Double or BFloat16;
    public static bool IsInteger(int t) => t is UInt8 or Int8 or UInt16 or Int16 or Int32 or Int64 or Bool or UInt32 or UInt64;

    public static string Name(int t) => t switch
    {
        Float => "FLOAT", UInt8 => "UINT8", Int8 => "INT8", UInt16 => "UINT16", Int16 => "INT16", Int32 => "INT32",
        Int64 => "INT64", String => "STRING", Bool => "BOOL", Float16 => "FLOAT16", Double => "DOUBLE", UInt32 => "UINT32",
        UInt64 => "UINT64", Complex64 => "COMPLEX64", Complex128 => "COMPLEX128", BFloat16 => "BFLOAT16",
        _ => "type " + t.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>How a <see cref="ConstTensor"/> holds its elements.</summary>
public enum ConstKind
{
    /// <summary>Floating-point elements (fp32, fp16, bf16 and fp64 all held as fp32).</summary>
    Float,
    /// <summary>Integer and boolean elements, held exactly as int64.</summary>
    Int,
}

/// <summary>
/// An immutable constant of the import IR: an initializer, a Constant node's value, or a folded result.
/// Floating types are held as fp32 (the final graph stores fp32 anyway); integer types as exact int64, so
/// shape arithmetic with INT64_MAX sentinels (Slice ends) stays exact.
/// </summary>
public sealed class ConstTensor
{
    private readonly float[]? _f;
    private readonly long[]? _i;

    private ConstTensor(int[] shape, float[]? f, long[]? i, int dataType)
    {
        long n = Shapes.Elements(shape, "constant");
        if ((f?.Length ?? i!.Length) != n)
            throw new ArgumentException($"{f?.Length ?? i!.Length} elements do not fill shape {Shapes.Format(shape)}");
        Shape = shape;
        _f = f;
        _i = i;
        DataType = dataType;
    }

    public static ConstTensor Float(int[] shape, float[] data, int dataType = OnnxDataType.Float) => new(shape, data, null, dataType);
    public static ConstTensor Int(int[] shape, long[] data, int dataType = OnnxDataType.Int64) => new(shape, null, data, dataType);
    public static ConstTensor ScalarFloat(float v) => Float([], [v]);
    public static ConstTensor Vector(params long[] v) => Int([v.Length], v);

    public ConstKind Kind => _f is not null ? ConstKind.Float : ConstKind.Int;
    /// <summary>The ONNX element type this constant stands for (what Cast produced, what the file said).</summary>
    public int DataType { get; }
    public int[] Shape { get; }
    public int Count => _f?.Length ?? _i!.Length;
    public int Rank => Shape.Length;

    /// <summary>The elements of a <see cref="ConstKind.Float"/> constant.</summary>
    public ReadOnlySpan<float> Floats => _f ?? throw new InvalidOperationException("constant holds integers");
    /// <summary>The elements of a <see cref="ConstKind.Int"/> constant.</summary>
    public ReadOnlySpan<long> Ints => _i ?? throw new InvalidOperationException("constant holds floats");

    /// <summary>The elements as fp32 (integers converted).</summary>
    public float[] ToFloatArray()
    {
        if (_f is not null) return (float[])_f.Clone();
        var r = new float[_i!.Length];
        for (int k = 0; k < r.Length; k++) r[k] = _i[k];
        return r;
    }

    /// <summary>The elements as fp64 (integers converted).</summary>
    public double[] ToDoubleArray()
    {
        var r = new double[Count];
        for (int k = 0; k < r.Length; k++) r[k] = _f is not null ? _f[k] : _i![k];
        return r;
    }

    /// <summary>The elements of an integer constant; <paramref name="where"/> names it when it holds floats.</summary>
    public long[] ToIntArray(string where)
    {
        if (_i is null) throw new EmaException($"{where} must be an integer tensor, found {OnnxDataType.Name(DataType)}");
        return (long[])_i.Clone();
    }

    /// <summary>Element <paramref name="k"/> as fp64.</summary>
    public double At(int k) => _f is not null ? _f[k] : _i![k];

    /// <summary>The single element of a one-element constant (a scalar or shape [1]).</summary>
    public double Scalar(string where)
    {
        if (Count != 1) throw new EmaException($"{where} must hold one element, has shape {Shapes.Format(Shape)}");
        return At(0);
    }

    /// <summary>The same elements under another shape with the same element count.</summary>
    public ConstTensor WithShape(int[] shape) => new(shape, _f, _i, DataType);

    /// <summary>A constant of the same kind and type made of elements picked by flat index.</summary>
    public ConstTensor Select(int[] shape, int[] sourceIndex)
    {
        if (_f is not null)
        {
            var r = new float[sourceIndex.Length];
            for (int k = 0; k < r.Length; k++) r[k] = _f[sourceIndex[k]];
            return new(shape, r, null, DataType);
        }
        var q = new long[sourceIndex.Length];
        for (int k = 0; k < q.Length; k++) q[k] = _i![sourceIndex[k]];
        return new(shape, null, q, DataType);
    }

    /// <summary>Same kind, shape and elements (fp32 compared bit for bit, so NaN equals NaN).</summary>
    public bool SameAs(ConstTensor o)
    {
        if (Kind != o.Kind || !Shape.AsSpan().SequenceEqual(o.Shape)) return false;
        if (_f is not null)
        {
            for (int k = 0; k < _f.Length; k++)
                if (BitConverter.SingleToInt32Bits(_f[k]) != BitConverter.SingleToInt32Bits(o._f![k])) return false;
            return true;
        }
        return _i!.AsSpan().SequenceEqual(o._i);
    }

    public override string ToString()
    {
        const int show = 8;
        var parts = new List<string>();
        for (int k = 0; k < Math.Min(Count, show); k++)
            parts.Add(_f is not null ? _f[k].ToString("R", CultureInfo.InvariantCulture) : _i![k].ToString(CultureInfo.InvariantCulture));
        if (Count > show) parts.Add("...");
        return $"{OnnxDataType.Name(DataType)}{Shapes.Format(Shape)} {{{string.Join(", ", parts)}}}";
    }
}
