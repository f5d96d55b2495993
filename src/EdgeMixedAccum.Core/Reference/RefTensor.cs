using System.Numerics;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Reference;

/// <summary>A dense C-order tensor of T with a concrete shape: the reference executor's value type.</summary>
public sealed class RefTensor<T> where T : IFloatingPointIeee754<T>
{
    public RefTensor(int[] shape, T[] data)
    {
        if (Shapes.Elements(shape, "reference tensor") != data.Length)
            throw new ArgumentException($"{data.Length} elements do not fill shape {Shapes.Format(shape)}");
        Shape = shape;
        Data = data;
    }

    public RefTensor(int[] shape) : this(shape, new T[Shapes.Elements(shape, "reference tensor")]) { }

    public int[] Shape { get; }
    public T[] Data { get; }

    public static RefTensor<T> FromFloat(int[] shape, ReadOnlySpan<float> values)
    {
        var d = new T[values.Length];
        for (int i = 0; i < d.Length; i++) d[i] = T.CreateChecked(values[i]);
        return new RefTensor<T>(shape, d);
    }

    public float[] ToFloat()
    {
        var r = new float[Data.Length];
        for (int i = 0; i < r.Length; i++) r[i] = float.CreateChecked(Data[i]);
        return r;
    }

    public double[] ToDouble()
    {
        var r = new double[Data.Length];
        for (int i = 0; i < r.Length; i++) r[i] = double.CreateChecked(Data[i]);
        return r;
    }
}
