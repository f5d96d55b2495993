using System.Runtime.InteropServices;

namespace EdgeMixedAccum.Graph;

/// <summary>
/// A stored constant tensor (weights, biases). The payload is a view into the model file, so a
/// memory-mapped file is used in place. Weight tensors (rank &gt;= 2) carry per-row statistics of the
/// stored values, rows being output channels (dim 0): ||w_i||_1 and ||w_i||_2, rounded up to fp32 so
/// bounds built from them stay upper bounds. Int8 tensors carry one fp32 scale per row.
/// </summary>
public sealed class TensorData
{
    public string Name { get; }
    public TensorDType DType { get; }
    public int[] Shape { get; }
    /// <summary>Raw little-endian elements, C order.</summary>
    public ReadOnlyMemory<byte> Data { get; }
    /// <summary>Per-row dequantisation scales (Int8 only, else empty): value = q * scale_i.</summary>
    public ReadOnlyMemory<byte> ScalesBytes { get; }
    /// <summary>||w_i||_1 of the stored (dequantised) rows, or empty when the tensor has rank &lt; 2.</summary>
    public ReadOnlyMemory<byte> RowL1Bytes { get; }
    /// <summary>||w_i||_2 of the stored (dequantised) rows, or empty when the tensor has rank &lt; 2.</summary>
    public ReadOnlyMemory<byte> RowL2Bytes { get; }

    public long ElementCount { get; }
    /// <summary>Rows (dim 0) for rank &gt;= 2, else 0.</summary>
    public int Rows => HasRowStats ? Shape[0] : 0;
    public int RowLength => HasRowStats ? (int)(ElementCount / Math.Max(1, Shape[0])) : 0;
    public bool HasRowStats => Shape.Length >= 2;

    internal TensorData(string name, TensorDType dtype, int[] shape, ReadOnlyMemory<byte> data,
        ReadOnlyMemory<byte> scales, ReadOnlyMemory<byte> rowL1, ReadOnlyMemory<byte> rowL2)
    {
        Name = name; DType = dtype; Shape = shape; Data = data;
        ScalesBytes = scales; RowL1Bytes = rowL1; RowL2Bytes = rowL2;
        ElementCount = Shapes.Elements(shape, $"tensor '{name}'");
    }

    public ReadOnlySpan<float> AsFloat32() => Typed<float>(TensorDType.Float32);
    public ReadOnlySpan<Half> AsFloat16() => Typed<Half>(TensorDType.Float16);
    public ReadOnlySpan<sbyte> AsInt8() => Typed<sbyte>(TensorDType.Int8);
    public ReadOnlySpan<float> Scales => MemoryMarshal.Cast<byte, float>(ScalesBytes.Span);
    public ReadOnlySpan<float> RowL1 => MemoryMarshal.Cast<byte, float>(RowL1Bytes.Span);
    public ReadOnlySpan<float> RowL2 => MemoryMarshal.Cast<byte, float>(RowL2Bytes.Span);

    private ReadOnlySpan<T> Typed<T>(TensorDType expected) where T : struct
    {
        if (DType != expected) throw new InvalidOperationException($"tensor '{Name}' is {DType}, not {expected}");
        return MemoryMarshal.Cast<byte, T>(Data.Span);
    }

    /// <summary>The stored values as fp32 (dequantised for Int8, widened for Float16).</summary>
    public float[] ToFloat32()
    {
        var r = new float[ElementCount];
        switch (DType)
        {
            case TensorDType.Float32: AsFloat32().CopyTo(r); break;
            case TensorDType.Float16:
                var h = AsFloat16();
                for (int i = 0; i < r.Length; i++) r[i] = (float)h[i];
                break;
            case TensorDType.Int8:
                var q = AsInt8();
                var s = Scales;
                int rows = Shape.Length == 0 ? 1 : Shape[0];
                int len = rows == 0 ? 0 : r.Length / rows;
                for (int i = 0; i < r.Length; i++) r[i] = q[i] * s[len == 0 ? 0 : i / len];
                break;
        }
        return r;
    }

    /// <summary>Makes an fp32 tensor (row statistics computed from the data).</summary>
    public static TensorData FromFloat32(string name, int[] shape, ReadOnlySpan<float> values)
    {
        var bytes = MemoryMarshal.AsBytes(values).ToArray();
        return WithStats(name, TensorDType.Float32, shape, bytes, default);
    }

    /// <summary>Makes an fp16 tensor (row statistics computed from the data).</summary>
    public static TensorData FromFloat16(string name, int[] shape, ReadOnlySpan<Half> values)
    {
        var bytes = MemoryMarshal.AsBytes(values).ToArray();
        return WithStats(name, TensorDType.Float16, shape, bytes, default);
    }

    /// <summary>Makes an int8 tensor with one scale per row: per element of dim 0 (one scale for rank 0).</summary>
    public static TensorData FromInt8(string name, int[] shape, ReadOnlySpan<sbyte> values, ReadOnlySpan<float> scales)
    {
        var bytes = MemoryMarshal.AsBytes(values).ToArray();
        return WithStats(name, TensorDType.Int8, shape, bytes, MemoryMarshal.AsBytes(scales).ToArray());
    }

    private static TensorData WithStats(string name, TensorDType dtype, int[] shape, byte[] data, ReadOnlyMemory<byte> scales)
    {
        long n = Shapes.Elements(shape, $"tensor '{name}'");
        if (data.Length != n * dtype.ElementSize())
            throw new ArgumentException($"tensor '{name}': {data.Length} bytes do not match shape {Shapes.Format(shape)} of {dtype}");
        int expectedScales = dtype == TensorDType.Int8 ? ScaleCount(shape) : 0;
        if (scales.Length != expectedScales * 4)
            throw new ArgumentException($"tensor '{name}': expected {expectedScales} scales, got {scales.Length / 4}");
        var t = new TensorData(name, dtype, (int[])shape.Clone(), data, scales, default, default);
        if (!t.HasRowStats) return t;
        var (l1, l2) = ComputeRowStats(t);
        return new TensorData(name, dtype, t.Shape, data, scales,
            MemoryMarshal.AsBytes<float>(l1).ToArray(), MemoryMarshal.AsBytes<float>(l2).ToArray());
    }

    /// <summary>Scales an int8 tensor of this shape carries: one per row for rank &gt;= 1 (one for rank 0).</summary>
    public static int ScaleCount(ReadOnlySpan<int> shape) => shape.Length == 0 ? 1 : shape[0];

    /// <summary>
    /// ||w_i||_1 and ||w_i||_2 of the dequantised rows, accumulated in fp64 and rounded up to fp32, so that
    /// a bound using them is never smaller than the exact one.
    /// </summary>
    public static (float[] L1, float[] L2) ComputeRowStats(TensorData t)
    {
        int rows = t.Shape[0];
        int len = rows == 0 ? 0 : (int)(t.ElementCount / rows);
        var l1 = new float[rows];
        var l2 = new float[rows];
        // Int8 rows are dequantised in fp64, where q * scale is exact: an fp32 product may round below it.
        bool int8 = t.DType == TensorDType.Int8;
        var w = int8 ? null : t.ToFloat32();
        var q = int8 ? t.AsInt8() : default;
        var scales = t.Scales;
        for (int i = 0; i < rows; i++)
        {
            double a = 0, b = 0;
            for (int j = 0; j < len; j++)
            {
                double v = int8 ? q[(int)((long)i * len + j)] * (double)scales[i] : w![(long)i * len + j];
                a += Math.Abs(v);
                b += v * v;
            }
            l1[i] = RoundUp(a);
            l2[i] = RoundUp(Math.Sqrt(b));
        }
        return (l1, l2);
    }

    private static float RoundUp(double v)
    {
        float f = (float)v;
        return f < v ? MathF.BitIncrement(f) : f;
    }
}
