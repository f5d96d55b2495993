using System.Buffers.Binary;
using System.Text;

namespace EdgeMixedAccum.Format;

/// <summary>
/// Bounds-checked little-endian cursor over one section. Every read checks the bytes that remain, and
/// every count is checked against the remaining bytes before anything is allocated from it; errors
/// name the section and the absolute byte offset.
/// </summary>
internal ref struct SectionReader
{
    public const int MaxString = Limits.MaxStringBytes;

    private readonly ReadOnlySpan<byte> _data;
    private readonly long _base;
    private readonly string _section;
    private readonly string? _file;
    private int _pos;

    public SectionReader(ReadOnlySpan<byte> data, long baseOffset, string section, string? file)
    {
        _data = data; _base = baseOffset; _section = section; _file = file; _pos = 0;
    }

    public readonly long Offset => _base + _pos;
    public readonly int Remaining => _data.Length - _pos;

    public readonly EmaFormatException Error(string what) => new(_file, _section, Offset, what);
    public readonly EmaFormatException ErrorAt(long offset, string what) => new(_file, _section, offset, what);

    private ReadOnlySpan<byte> Take(int n, string what)
    {
        if (n < 0 || n > Remaining) throw Error($"{what} needs {n} bytes but only {Remaining} remain");
        var s = _data.Slice(_pos, n);
        _pos += n;
        return s;
    }

    public byte U8(string what) => Take(1, what)[0];
    public ushort U16(string what) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, what));
    public uint U32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));
    public int I32(string what) => BinaryPrimitives.ReadInt32LittleEndian(Take(4, what));
    public ulong U64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, what));
    public float F32(string what) => BinaryPrimitives.ReadSingleLittleEndian(Take(4, what));
    public ReadOnlySpan<byte> Bytes(int n, string what) => Take(n, what);

    /// <summary>A count of items each at least <paramref name="itemBytes"/> long, checked against the
    /// remaining bytes and a hard limit before the caller allocates anything.</summary>
    public int Count(string what, int itemBytes, int limit)
    {
        long at = Offset;
        uint n = U32(what);
        if (n > (uint)limit) throw ErrorAt(at, $"{what} {n} exceeds the limit {limit}");
        if ((long)n * itemBytes > Remaining) throw ErrorAt(at, $"{what} {n} needs at least {(long)n * itemBytes} bytes but only {Remaining} remain");
        return (int)n;
    }

    public string Str(string what)
    {
        long at = Offset;
        uint n = U32(what + " length");
        if (n > MaxString) throw ErrorAt(at, $"{what} length {n} exceeds the limit {MaxString}");
        var bytes = Take((int)n, what);
        try { return StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { throw ErrorAt(at, $"{what} is not valid UTF-8"); }
    }

    public int[] I32s(string what, int limit)
    {
        int n = Count(what + " count", 4, limit);
        var r = new int[n];
        for (int i = 0; i < n; i++) r[i] = I32(what);
        return r;
    }

    public float[] F32s(string what, int limit)
    {
        int n = Count(what + " count", 4, limit);
        var r = new float[n];
        for (int i = 0; i < n; i++) r[i] = F32(what);
        return r;
    }

    public readonly void ExpectEnd()
    {
        if (Remaining != 0) throw Error($"{Remaining} unexpected trailing bytes");
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);
}
