using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine.Ops;

/// <summary>
/// A stand-alone element-wise activation: y = phi(x) in fp32 through <see cref="ActivationMath.Apply(Activation, ReadOnlySpan{float}, Span{float})"/>,
/// the same formula a layer uses when the activation is fused. The output may be exactly the input.
/// </summary>
public sealed class ActivationOp : FloatOp
{
    private readonly Activation _activation;

    public ActivationOp(ActivationNode node, IReadOnlyList<int[]> inputShapes, int[] outputShape)
        : base(node, inputShapes, outputShape)
    {
        _activation = node.Activation;
        // Invalid parameters (a NaN Clip bound, an unknown kind) fail here, at compile time, not mid-run.
        try { ActivationMath.Apply(_activation, ReadOnlySpan<float>.Empty, Span<float>.Empty); }
        catch (EmaException e) { throw new EmaException($"{Name}: {e.Message}", e); }
    }

    public override bool AllowsInPlace(int input) => true;

    public override void Run(ReadOnlySpan<ReadOnlyMemory<float>> inputs, Span<float> output, int batch)
    {
        Check(inputs, output, batch);
        int n = (int)OutputLength(batch);
        ActivationMath.Apply(_activation, inputs[0].Span[..n], output[..n]);
    }
}
