using EdgeMixedAccum.Format;

namespace EdgeMixedAccum.Tests.Format;

/// <summary>
/// Issue 8, item 5: EmaWriter writes to a temporary file in the target's folder and renames it over the target.
/// A write that fails part-way (a full disk, an I/O error: simulated by a stream that throws after some bytes)
/// must leave no partial .ema at the target, leave an existing target byte for byte as it was, and leave no
/// temporary file behind.
/// </summary>
public class AtomicWriteTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ema-atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Passes <paramref name="budget"/> bytes through, then throws as a failing disk would.</summary>
    private sealed class FailingStream(Stream inner, long budget) : Stream
    {
        public long Written;
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            int n = (int)Math.Min(buffer.Length, Math.Max(0, budget - Written));
            inner.Write(buffer[..n]);
            Written += n;
            if (n < buffer.Length) throw new IOException($"simulated failure after {Written} bytes (no space left on device)");
        }
        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(64)]
    [InlineData(1000)]
    public void FailedWrite_LeavesNoTarget_AndNoTemporaryFile(long budget)
    {
        var bytes = EmaWriter.ToBytes(CorruptFiles.Small());
        string target = Path.Combine(_dir, "model.ema");
        FailingStream? fs = null;
        var e = Assert.Throws<IOException>(() => EmaWriter.WriteAtomic(target, bytes, s => fs = new FailingStream(s, budget)));
        Assert.Contains("simulated failure", e.Message);
        Assert.Equal(budget, fs!.Written); // the failure really came part-way through the bytes
        Assert.False(File.Exists(target));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void FailedWrite_LeavesAnExistingTargetUntouched()
    {
        string target = Path.Combine(_dir, "model.ema");
        EmaWriter.Write(target, CorruptFiles.Conv());
        var old = File.ReadAllBytes(target);
        var stamp = File.GetLastWriteTimeUtc(target);
        var bytes = EmaWriter.ToBytes(CorruptFiles.Small());
        Assert.NotEqual(old, bytes);
        for (long budget = 0; budget < bytes.Length; budget += Math.Max(1, bytes.Length / 7))
        {
            Assert.Throws<IOException>(() => EmaWriter.WriteAtomic(target, bytes, s => new FailingStream(s, budget)));
            Assert.Equal(old, File.ReadAllBytes(target));
            Assert.Equal(stamp, File.GetLastWriteTimeUtc(target));
            Assert.Equal([target], Directory.GetFiles(_dir));
        }
        // The same call without the fault replaces the file whole.
        EmaWriter.WriteAtomic(target, bytes, s => new FailingStream(s, long.MaxValue));
        Assert.Equal(bytes, File.ReadAllBytes(target));
        Assert.Equal([target], Directory.GetFiles(_dir));
    }

    [Fact]
    public void ModelThatFailsValidation_WritesNothing()
    {
        string target = Path.Combine(_dir, "model.ema");
        File.WriteAllBytes(target, [1, 2, 3]);
        var bad = CorruptFiles.Small();
        bad.Graph.Outputs.Clear(); // invalid: ToBytes validates before any file is opened
        Assert.ThrowsAny<EmaException>(() => EmaWriter.Write(target, bad));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(target));
        Assert.Equal([target], Directory.GetFiles(_dir));
    }
}
