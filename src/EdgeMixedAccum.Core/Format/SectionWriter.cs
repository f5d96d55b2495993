using System.Buffers.Binary;
using System.Text;

namespace EdgeMixedAccum.Format;

/// <summary>Little-endian writer into a growable buffer, the mirror of <see cref="SectionReader"/>.</summary>
internal sealed class SectionWriter
{
    private byte[] _buf = new byte[256];
    public int Length { get; private set; }

    private Span<byte> Grow(int n)
    {
        if (Length + n > _buf.Length) Array.Resize(ref _buf, Math.Max(_buf.Length * 2, Length + n));
        var s = _buf.AsSpan(Length, n);
        Length += n;
        return s;
    }

    public void U8(byte v) => Grow(1)[0] = v;
    public void U16(ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(Grow(2), v);
    public void U32(uint v) => BinaryPrimitives.WriteUInt32LittleEndian(Grow(4), v);
    public void I32(int v) => BinaryPrimitives.WriteInt32LittleEndian(Grow(4), v);
    public void U64(ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(Grow(8), v);
    public void F32(float v) => BinaryPrimitives.WriteSingleLittleEndian(Grow(4), v);
    public void Bytes(ReadOnlySpan<byte> b) => b.CopyTo(Grow(b.Length));

    public void Str(string s)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        if (n > SectionReader.MaxString) throw new EmaException($"string '{s[..32]}...' is longer than {SectionReader.MaxString} bytes");
        U32((uint)n);
        Encoding.UTF8.GetBytes(s, Grow(n));
    }

    public void I32s(ReadOnlySpan<int> v)
    {
        U32((uint)v.Length);
        foreach (int x in v) I32(x);
    }

    public void F32s(ReadOnlySpan<float> v)
    {
        U32((uint)v.Length);
        foreach (float x in v) F32(x);
    }

    /// <summary>Zero-pads to a multiple of <paramref name="alignment"/>.</summary>
    public void Align(int alignment)
    {
        int pad = (alignment - Length % alignment) % alignment;
        Grow(pad).Clear();
    }

    public ReadOnlySpan<byte> Written => _buf.AsSpan(0, Length);
}
