using EdgeMixedAccum.Format;

namespace EdgeMixedAccum.Tests.Format;

/// <summary>InputNormalization.Apply against the element formula x = (x - mean[c]) / std[c], c = i / inner % C, bit for
/// bit: one mean for all, per channel with channel runs shorter and longer than a vector and a batch of several.</summary>
public class InputNormalizationTests
{
    [Theory]
    [InlineData(new[] { 1, 1, 28, 28 }, 1)]
    [InlineData(new[] { 3, 3, 5, 7 }, 3)]
    [InlineData(new[] { 2, 4, 3 }, 4)]
    [InlineData(new[] { 2, 2, 1 }, 2)]
    public void ApplyEqualsTheElementFormula(int[] shape, int channels)
    {
        var rng = new Random(shape.Sum() + channels);
        int n = shape.Aggregate(1, (a, b) => a * b);
        var x = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var mean = Enumerable.Range(0, channels).Select(_ => (float)rng.NextDouble()).ToArray();
        var std = Enumerable.Range(0, channels).Select(_ => (float)(0.1 + rng.NextDouble())).ToArray();
        int inner = shape.Skip(2).Aggregate(1, (a, b) => a * b);
        var want = new float[n];
        for (int i = 0; i < n; i++)
        {
            int c = channels == 1 ? 0 : i / inner % channels;
            want[i] = (x[i] - mean[c]) / std[c];
        }
        new InputNormalization(mean, std).Apply(x, shape);
        Assert.Equal(want.Select(BitConverter.SingleToInt32Bits), x.Select(BitConverter.SingleToInt32Bits));
    }
}
