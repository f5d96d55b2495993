namespace EdgeMixedAccum.Graph;

/// <summary>Element types of stored tensors. Codes are stored in .ema files: never renumber, only append.</summary>
public enum TensorDType : byte
{
    Float32 = 1,
    Float16 = 2,
    /// <summary>Symmetric int8 in [-127, 127] with one fp32 scale per output channel (dim 0).</summary>
    Int8 = 3,
}

public static class TensorDTypeExtensions
{
    public static int ElementSize(this TensorDType t) => t switch
    {
        TensorDType.Float32 => 4,
        TensorDType.Float16 => 2,
        TensorDType.Int8 => 1,
        _ => throw new EmaException($"unknown tensor dtype code {(byte)t}"),
    };

    public static bool IsDefined(this TensorDType t) => t is TensorDType.Float32 or TensorDType.Float16 or TensorDType.Int8;
}
