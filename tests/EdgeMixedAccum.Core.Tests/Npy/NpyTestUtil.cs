
using System.Text;
using EdgeMixedAccum.Npy;

namespace EdgeMixedAccum.Tests.Npy;

/// <summary>Builds NPY bytes by hand (independently of the writer under test).</summary>
internal static class NpyTestUtil
{
    public static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>numpy's _wrap_header: dict + 1..align spaces + '\n', so prefix+header is a multiple of align.</summary>
    public static byte[] File(string dict, byte[] data, int major = 1, int align = 64, bool newline = true)
    {
        var ms = new MemoryStream();
        ms.Write(Magic);
        ms.WriteByte((byte)major);
        ms.WriteByte(0);
        int prefix = major == 1 ? 10 : 12;
        byte[] text = Encoding.UTF8.GetBytes(dict);
        int hlen = text.Length + (newline ? 1 : 0);
        int pad = align - (prefix + hlen) % align;
        int total = hlen + pad;
        if (major == 1) { ms.WriteByte((byte)total); ms.WriteByte((byte)(total >> 8)); }
        else ms.Write(BitConverter.GetBytes((uint)total));
        ms.Write(text);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        if (newline) ms.WriteByte((byte)'\n');
        ms.Write(data);
        return ms.ToArray();
    }

    public static byte[] ToBytes(NpyArray a)
    {
        var ms = new MemoryStream();
        NpyFile.Write(ms, a);
        return ms.ToArray();
    }

    public static NpyArray FromBytes(byte[] b, string? name = null) =>
        NpyFile.Read(new MemoryStream(b, writable: false), name);

    public static NpyFormatException ReadFails(byte[] b, string? name = null) =>
        Assert.Throws<NpyFormatException>(() => FromBytes(b, name));
}

/// <summary>A read-only, non-seekable stream that hands out at most <c>chunk</c> bytes per Read.</summary>
internal sealed class TrickleStream(byte[] data, int chunk = 3) : Stream
{
    private int _pos;
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer)
    {
        int n = Math.Min(Math.Min(chunk, buffer.Length), data.Length - _pos);
        data.AsSpan(_pos, n).CopyTo(buffer);
        _pos += n;
        return n;
    }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
