using System.Buffers.Binary;
using System.IO.Hashing;

namespace EdgeMixedAccum.Fuzzing;

/// <summary>
/// Rewrites the declared file length and every CRC-32 of a (mutated) .ema file so that a mutation is not
/// stopped by the checksums: the CRC checks are a few lines, the parsers behind them are what needs
/// exercising. Fields it cannot locate (a section table past the end, a section out of bounds) are left
/// as they are, so the reader's own bounds checks still see them. Used by the fuzz harness and the
/// deterministic mutation tests (linked into both).
/// </summary>
public static class EmaRepair
{
    private const int HeaderSize = 64, EntrySize = 32, MaxSections = 64;

    public static void Repair(byte[] f)
    {
        if (f.Length < HeaderSize) return;
        BinaryPrimitives.WriteUInt64LittleEndian(f.AsSpan(24), (ulong)f.Length);
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(12));
        if (count is > 0 and <= MaxSections && HeaderSize + count * EntrySize <= f.Length)
        {
            for (int i = 0; i < count; i++)
            {
                var e = f.AsSpan(HeaderSize + i * EntrySize, EntrySize);
                ulong off = BinaryPrimitives.ReadUInt64LittleEndian(e[8..]), len = BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
                if (off <= (ulong)f.Length && len <= (ulong)f.Length - off)
                    BinaryPrimitives.WriteUInt32LittleEndian(e[24..], Crc32.HashToUInt32(f.AsSpan((int)off, (int)len)));
            }
            BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(32), Crc32.HashToUInt32(f.AsSpan(HeaderSize, (int)count * EntrySize)));
        }
        BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(36), Crc32.HashToUInt32(f.AsSpan(0, 36)));
    }
}
