using EdgeMixedAccum.Runtime.Loop;

namespace EdgeMixedAccum.Runtime.Tests.Loop;

public class CsvSourceTests
{
    [Fact]
    public void Replay_reads_file_with_header()
    {
        string path = Path.Combine(Path.GetTempPath(), $"replay-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, "t,ax,ay\n0.0,1,2\n\n0.01, 3 ,4.5e0\n");
        try
        {
            using var src = new ReplaySource(path);
            Assert.Equal(2, src.Channels);
            Assert.Equal(2, src.Length);
            var s = new float[2];
            Assert.Equal(SampleStatus.Ok, src.Read(s, out double t));
            Assert.Equal((0.0, 1f, 2f), (t, s[0], s[1]));
            Assert.Equal(SampleStatus.Ok, src.Read(s, out t));
            Assert.Equal((0.01, 3f, 4.5f), (t, s[0], s[1]));
            Assert.Equal(SampleStatus.EndOfStream, src.Read(s, out _));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Replay_without_header()
    {
        using var src = new ReplaySource(new StringReader("1,5\n2,6\n3,7"), "mem.csv");
        Assert.Equal(1, src.Channels);
        Assert.Equal(3, src.Length);
    }

    [Theory]
    [InlineData("t,a,b\n0,1,2\n1,2\n", "data.csv:3: expected 3 columns (timestamp + 2 channels), got 2")]
    [InlineData("0,1,2\n1,2,3\n2,x,3\n", "data.csv:3: column 2 ('x') is not a finite number")]
    [InlineData("0,1,2\n1,2,NaN\n", "data.csv:2: column 3 ('NaN') is not a finite number")]
    public void Replay_bad_row_names_file_and_line(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => new ReplaySource(new StringReader(text), "data.csv"));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Replay_missing_file_names_it()
    {
        var e = Assert.ThrowsAny<IOException>(() => new ReplaySource("/nonexistent/none.csv"));
        Assert.Contains("none.csv", e.Message);
    }

    [Fact]
    public void Stdin_streams_rows_and_reports_bad_lines()
    {
        using var src = new StdinSource(new StringReader("time,x,y,z\n0,1,2,3\n0.5,4,5,6\n1,7,8\n"));
        Assert.Equal(3, src.Channels);
        var s = new float[3];
        Assert.Equal(SampleStatus.Ok, src.Read(s, out double t));
        Assert.Equal((0.0, 1f, 3f), (t, s[0], s[2]));
        Assert.Equal(SampleStatus.Ok, src.Read(s, out t));
        Assert.Equal((0.5, 4f, 6f), (t, s[0], s[2]));
        var e = Assert.Throws<FormatException>(() => src.Read(s, out _));
        Assert.StartsWith("stdin:4:", e.Message);
    }

    [Fact]
    public void Stdin_end_of_stream()
    {
        using var src = new StdinSource(new StringReader("0,1\n"));
        var s = new float[1];
        Assert.Equal(SampleStatus.Ok, src.Read(s, out _));
        Assert.Equal(SampleStatus.EndOfStream, src.Read(s, out _));
    }
}
