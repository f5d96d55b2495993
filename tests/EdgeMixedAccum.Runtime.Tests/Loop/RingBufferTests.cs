using EdgeMixedAccum.Runtime.Loop;

namespace EdgeMixedAccum.Runtime.Tests.Loop;

public class RingBufferTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 4, 1)]
    [InlineData(3, 4, 3)]
    [InlineData(6, 16, 5)]
    [InlineData(2, 7, 7)]
    [InlineData(2, 5, 9)]
    public void Windows_match_naive_reference(int channels, int n, int hop)
    {
        var ring = new RingBuffer(channels, n);
        var history = new List<float[]>();
        var window = new float[channels * n];
        int total = 3 * n + 7; // wraps around several times
        int checkedWindows = 0;
        for (int i = 0; i < total; i++)
        {
            var sample = new float[channels];
            for (int c = 0; c < channels; c++) sample[c] = i * 100 + c;
            ring.Push(sample);
            history.Add(sample);
            Assert.Equal(Math.Min(i + 1, n), ring.Count);
            if (i + 1 < n || (i + 1 - n) % hop != 0) continue;
            ring.CopyWindow(window);
            for (int c = 0; c < channels; c++)
                for (int k = 0; k < n; k++)
                    Assert.Equal(history[i + 1 - n + k][c], window[c * n + k]);
            checkedWindows++;
        }
        Assert.Equal((total - n) / hop + 1, checkedWindows);
    }

    [Fact]
    public void Window_before_full_is_an_error()
    {
        var ring = new RingBuffer(2, 3);
        ring.Push([1, 2]);
        Assert.Throws<InvalidOperationException>(() => ring.CopyWindow(new float[6]));
    }
}
