using System.Buffers.Binary;

namespace EdgeMixedAccum.Fuzzing;

/// <summary>
/// Deterministic, seeded mutations of a model file for the mutation tests (tests/*/MutationTests.cs): the same
/// (file, seed) always gives the same bytes, so a failing case is reproduced from the seed the assertion names.
/// .ema files get structure-aware mutations (the section table, counts and lengths at the start of each section),
/// ONNX files protobuf-aware ones (a length-delimited field's length inflated in place).
/// </summary>
public static class Mutations
{
    public enum Kind { BitFlips, Truncate, ByteSet, LengthInflate, SectionSwap, SectionDuplicate, ChunkSwap, ChunkDuplicate }

    public static readonly Kind[] EmaKinds = [Kind.BitFlips, Kind.Truncate, Kind.ByteSet, Kind.LengthInflate, Kind.SectionSwap, Kind.SectionDuplicate, Kind.ChunkDuplicate];
    public static readonly Kind[] OnnxKinds = [Kind.BitFlips, Kind.Truncate, Kind.ByteSet, Kind.LengthInflate, Kind.ChunkSwap, Kind.ChunkDuplicate];

    /// <summary>One mutated copy of <paramref name="file"/>. For .ema, half the cases (odd seeds) get their CRCs and
    /// declared length repaired afterwards (<see cref="EmaRepair"/>), so the mutation reaches the parsers.</summary>
    public static (byte[] Bytes, string What) Mutate(byte[] file, int seed, bool ema)
    {
        var rng = new Random(seed);
        var kinds = ema ? EmaKinds : OnnxKinds;
        var kind = kinds[rng.Next(kinds.Length)];
        var (b, what) = Apply(file, kind, rng, ema);
        if (ema && (seed & 1) == 1 && kind != Kind.Truncate) { EmaRepair.Repair(b); what += ", CRCs repaired"; }
        return (b, $"seed {seed}: {what}");
    }

    private static (byte[], string) Apply(byte[] f, Kind kind, Random rng, bool ema)
    {
        var b = (byte[])f.Clone();
        switch (kind)
        {
            case Kind.BitFlips:
            {
                int n = 1 + rng.Next(4);
                var at = new List<int>();
                for (int i = 0; i < n; i++) { int p = rng.Next(b.Length); b[p] ^= (byte)(1 << rng.Next(8)); at.Add(p); }
                return (b, $"bit flips at {string.Join(',', at)}");
            }
            case Kind.Truncate:
            {
                int len = rng.Next(b.Length);
                return (b[..len], $"truncated to {len} of {b.Length} bytes");
            }
            case Kind.ByteSet:
            {
                int p = rng.Next(b.Length);
                byte v = (byte)(rng.Next(4) switch { 0 => 0x00, 1 => 0xFF, 2 => 0x80, _ => 0x7F });
                b[p] = v;
                return (b, $"byte {p} set to 0x{v:x2}");
            }
            case Kind.LengthInflate:
                return ema ? InflateEma(b, rng) : InflateProtobuf(b, rng);
            case Kind.SectionSwap when ema:
            {
                int n = SectionCount(b);
                if (n < 2) return (b, "section swap (no table)");
                int i = rng.Next(n), j = (i + 1 + rng.Next(n - 1)) % n;
                // Swap the kinds of two table entries: each section's bytes are then parsed as the other's.
                var ki = b.AsSpan(64 + 32 * i, 4).ToArray();
                b.AsSpan(64 + 32 * j, 4).CopyTo(b.AsSpan(64 + 32 * i, 4));
                ki.CopyTo(b.AsSpan(64 + 32 * j, 4));
                return (b, $"section table entries {i} and {j} swapped kinds");
            }
            case Kind.SectionDuplicate when ema:
            {
                int n = SectionCount(b);
                if (n < 2) return (b, "section duplicate (no table)");
                int i = rng.Next(n), j = (i + 1 + rng.Next(n - 1)) % n;
                bool whole = rng.Next(2) == 0;
                // Entry j becomes a copy of entry i (the same section listed twice), or just takes its kind.
                b.AsSpan(64 + 32 * i, whole ? 32 : 4).CopyTo(b.AsSpan(64 + 32 * j, whole ? 32 : 4));
                return (b, $"section table entry {j} := entry {i}{(whole ? "" : " (kind only)")}");
            }
            case Kind.ChunkSwap or Kind.SectionSwap or Kind.SectionDuplicate:
            {
                if (b.Length < 8) return (b, "chunk swap (too short)");
                int len = 1 + rng.Next(Math.Min(64, b.Length / 2));
                int p = rng.Next(b.Length - 2 * len + 1), q = p + len + rng.Next(b.Length - p - 2 * len + 1);
                var tmp = b.AsSpan(p, len).ToArray();
                b.AsSpan(q, len).CopyTo(b.AsSpan(p, len));
                tmp.CopyTo(b.AsSpan(q, len));
                return (b, $"chunks [{p}, +{len}) and [{q}, +{len}) swapped");
            }
            case Kind.ChunkDuplicate:
            {
                int len = 1 + rng.Next(Math.Min(64, b.Length));
                int p = rng.Next(b.Length - len + 1), q = rng.Next(b.Length + 1);
                var r = new byte[b.Length + len];
                b.AsSpan(0, q).CopyTo(r);
                b.AsSpan(p, len).CopyTo(r.AsSpan(q));
                b.AsSpan(q).CopyTo(r.AsSpan(q + len));
                return (r, $"chunk [{p}, +{len}) inserted again at {q}");
            }
        }
        throw new InvalidOperationException(kind.ToString());
    }

    private static int SectionCount(byte[] b)
    {
        if (b.Length < 64) return 0;
        uint n = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(12));
        return n is > 0 and <= 64 && 64 + 32 * n <= b.Length ? (int)n : 0;
    }

    private static readonly ulong[] Big = [0xFFFF_FFFF, 0x7FFF_FFFF, 0x8000_0000, 0x1_0000, 0xFFFF_FFFF_FFFF_FFFF, 0x4000_0000_0000_0000];

    /// <summary>A length or count of the .ema file made huge: a section table length, or one of the first u32
    /// fields of a section (where its counts and the first string length are), or any aligned u32.</summary>
    private static (byte[], string) InflateEma(byte[] b, Random rng)
    {
        int n = SectionCount(b);
        ulong big = Big[rng.Next(Big.Length)];
        int choice = n == 0 ? 2 : rng.Next(3);
        if (choice == 0)
        {
            int i = rng.Next(n);
            ulong len = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(64 + 32 * i + 16));
            ulong v = rng.Next(2) == 0 ? big : len + (ulong)(1 + rng.Next(128));
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(64 + 32 * i + 16), v);
            return (b, $"section table entry {i} length {len} -> {v}");
        }
        if (choice == 1)
        {
            int i = rng.Next(n);
            ulong off = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(64 + 32 * i + 8));
            long p = (long)off + 4 * rng.Next(8);
            if (off < (ulong)b.Length && p + 4 <= b.Length)
            {
                uint old = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)p));
                uint v = rng.Next(2) == 0 ? (uint)big : old + (uint)(1 + rng.Next(1000));
                BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan((int)p), v);
                return (b, $"u32 at {p} (section {i}) {old} -> {v}");
            }
        }
        int q = 4 * rng.Next(b.Length / 4);
        if (q + 4 > b.Length) return (b, "inflate (too short)");
        uint o = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(q));
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(q), (uint)big);
        return (b, $"u32 at {q} {o} -> {(uint)big}");
    }

    /// <summary>A protobuf length-delimited field (wire type 2) whose length varint is made as large as its byte
    /// count allows (or made to claim past the end), in place.</summary>
    private static (byte[], string) InflateProtobuf(byte[] b, Random rng)
    {
        var candidates = new List<(int At, int Bytes, ulong Len)>();
        for (int p = 0; p + 1 < b.Length; p++)
        {
            if ((b[p] & 7) != 2 || b[p] < 8) continue;
            ulong len = 0; int k = 0, q = p + 1;
            for (; q < b.Length && k < 10; q++, k++)
            {
                len |= (ulong)(b[q] & 0x7F) << (7 * k);
                if ((b[q] & 0x80) == 0) break;
            }
            if (q >= b.Length || k >= 5) continue;
            if (len <= (ulong)(b.Length - q - 1)) candidates.Add((p + 1, k + 1, len)); // a plausible field
        }
        if (candidates.Count == 0) return (b, "protobuf inflate (no length field)");
        var (at, nb, old) = candidates[rng.Next(candidates.Count)];
        if (rng.Next(2) == 0)
        {
            for (int i = 0; i < nb - 1; i++) b[at + i] = 0xFF;
            b[at + nb - 1] = 0x7F;
            return (b, $"protobuf length at {at} ({nb} bytes, was {old}) made maximal");
        }
        // Off by a little: the field swallows the start of the next one, or runs past the end.
        ulong v = old + (ulong)(1 + rng.Next(16));
        ulong max = nb >= 10 ? ulong.MaxValue : (1UL << (7 * nb)) - 1;
        if (v > max) v = max;
        for (int i = 0; i < nb; i++) { b[at + i] = (byte)((v >> (7 * i)) & 0x7F | (i < nb - 1 ? 0x80u : 0u)); }
        return (b, $"protobuf length at {at} {old} -> {v}");
    }
}
