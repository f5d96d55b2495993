using System.Buffers.Binary;

namespace EdgeMixedAccum.Npy;

/// <summary>
/// Reads and writes NumPy .npy files. Reads format versions 1.0, 2.0 and 3.0; writes 1.0 (2.0 when the
/// header would exceed 65535 bytes), byte-for-byte as numpy's np.save writes the same array.
/// </summary>
/// <remarks>
/// Input is treated as untrusted: every problem with the bytes raises <see cref="NpyFormatException"/>
/// naming the file (if known), what is wrong and the byte offset; I/O failures raise
/// <see cref="EmaException"/>. Lengths from the file are checked against the stream length (seekable
/// streams) and against limits before anything is allocated; on non-seekable streams buffers grow with
/// the data actually received.
/// Policies: big-endian dtypes are rejected (not swapped); fortran_order True is accepted only when it is
/// equivalent to C order (at most one dimension != 1, or no elements); <see cref="Read(string)"/> rejects
/// trailing bytes after the data, while <see cref="Read(Stream, string?)"/> stops right after the data
/// (so arrays written back to back into one stream can be read in sequence).
/// </remarks>
public static class NpyFile
{
    /// <summary>Largest header (the dict text plus padding) accepted on read.</summary>
    public const int MaxHeaderBytes = 1 << 20;

    /// <summary>Default cap on the element data size: the largest byte[] .NET allows (about 2^31).</summary>
    public static long DefaultMaxDataBytes => Array.MaxLength;

    private const int InitialChunk = 1 << 16;

    // ------------------------------------------------------------------ read

    /// <summary>Reads a .npy file holding exactly one array (trailing bytes are an error).</summary>
    public static NpyArray Read(string path) => Read(path, DefaultMaxDataBytes);

    /// <summary>As <see cref="Read(string)"/>, refusing arrays whose data exceeds <paramref name="maxDataBytes"/>.</summary>
    public static NpyArray Read(string path, long maxDataBytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        FileStream fs;
        try
        {
            fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EmaException($"cannot open NPY file '{path}': {e.Message}", e);
        }
        using (fs)
        {
            NpyArray a = Read(fs, path, maxDataBytes);
            long end = fs.Position, length = fs.Length;
            if (length > end)
                throw new NpyFormatException(path, end,
                    $"{length - end} trailing bytes after the array data (the file is {length} bytes; a .npy file holds exactly one array)");
            return a;
        }
    }

    /// <summary>
    /// Reads one array from the current position of <paramref name="s"/> and leaves the stream just after
    /// its data. <paramref name="nameForErrors"/> (e.g. a file name) is quoted in error messages.
    /// </summary>
    public static NpyArray Read(Stream s, string? nameForErrors = null) => Read(s, nameForErrors, DefaultMaxDataBytes);

    /// <summary>As <see cref="Read(Stream, string?)"/>, refusing arrays whose data exceeds <paramref name="maxDataBytes"/>
    /// (clamped to <see cref="DefaultMaxDataBytes"/>).</summary>
    public static NpyArray Read(Stream s, string? nameForErrors, long maxDataBytes)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (!s.CanRead) throw new ArgumentException("stream is not readable", nameof(s));
        ArgumentOutOfRangeException.ThrowIfNegative(maxDataBytes);
        maxDataBytes = Math.Min(maxDataBytes, DefaultMaxDataBytes);
        try
        {
            return new Reader(s, nameForErrors).ReadArray(maxDataBytes);
        }
        catch (IOException e)
        {
            string where = nameForErrors is null ? "NPY stream" : $"NPY file '{nameForErrors}'";
            throw new EmaException($"{where}: I/O error while reading: {e.Message}", e);
        }
    }

    private sealed class Reader(Stream s, string? name)
    {
        private readonly long _base = s.CanSeek ? s.Position : 0;
        private long _pos; // bytes consumed since _base

        private NpyFormatException Fail(long rel, string problem) => new(name, _base + rel, problem);

        public NpyArray ReadArray(long maxDataBytes)
        {
            // magic
            Span<byte> magic = stackalloc byte[6];
            int got = ReadUpTo(magic);
            if (got == 0) throw Fail(0, "file is empty: expected the NPY magic string \\x93NUMPY");
            if (!magic[..got].SequenceEqual(NpyHeader.Magic[..got]))
            {
                string hint = got >= 2 && magic[0] == (byte)'P' && magic[1] == (byte)'K'
                    ? " (this looks like a zip/.npz archive; extract its .npy members first)" : "";
                throw Fail(0, $"bad magic: expected \\x93NUMPY, found {Hex(magic[..got])}; not an NPY file{hint}");
            }
            if (got < 6) throw Fail(0, $"file is truncated: the 6-byte magic string is cut off after {got} bytes");
            _pos = 6;

            // version
            Span<byte> ver = stackalloc byte[2];
            ReadExact(ver, "the 2-byte format version");
            int major = ver[0], minor = ver[1];
            if (major is < 1 or > 3 || minor != 0)
                throw Fail(6, $"unsupported NPY format version {major}.{minor} (supported: 1.0, 2.0, 3.0)");

            // header length
            long hlen;
            if (major == 1)
            {
                Span<byte> b = stackalloc byte[2];
                ReadExact(b, "the 2-byte header length");
                hlen = BinaryPrimitives.ReadUInt16LittleEndian(b);
            }
            else
            {
                Span<byte> b = stackalloc byte[4];
                ReadExact(b, "the 4-byte header length");
                hlen = BinaryPrimitives.ReadUInt32LittleEndian(b);
            }
            long hlenOffset = 8;
            if (Remaining() is { } rem && hlen > rem)
                throw Fail(hlenOffset, $"header length {hlen} extends beyond the end of the file: only {rem} bytes follow the length field");
            if (hlen > MaxHeaderBytes)
                throw Fail(hlenOffset, $"header length {hlen} exceeds the limit of {MaxHeaderBytes} bytes");

            long headerStart = _pos;
            byte[] header = ReadBlock(hlen, avail =>
                $"header length {hlen} extends beyond the end of the file: only {avail} bytes follow the length field", hlenOffset);

            NpyHeader.Parsed h;
            try
            {
                h = NpyHeader.Parse(header);
            }
            catch (NpyHeader.ParseError e)
            {
                throw Fail(headerStart + e.Position, $"{e.Message} (header position {e.Position})");
            }

            NpyDType dtype = NpyDTypeExtensions.FromDescr(h.Descr, out string problem)
                ?? throw Fail(headerStart + h.DescrPos, problem);

            int[] shape = h.Shape;
            string shapeText = NpyArray.FormatShape(shape);
            long count = 1, nbytes;
            try
            {
                if (Array.IndexOf(shape, 0) >= 0) count = 0;
                else foreach (int d in shape) count = checked(count * d);
                nbytes = checked(count * dtype.ItemSize());
            }
            catch (OverflowException)
            {
                throw Fail(headerStart + h.ShapePos, $"element count overflow: shape {shapeText} has more elements than fit in 64 bits");
            }
            if (nbytes > maxDataBytes)
                throw Fail(headerStart + h.ShapePos,
                    $"shape {shapeText} of '{h.Descr}' needs {nbytes} bytes, more than the limit of {maxDataBytes} bytes");

            if (h.FortranOrder && count != 0 && shape.Count(d => d != 1) > 1)
                throw Fail(headerStart + h.FortranPos,
                    $"fortran_order True (column-major) is not supported for shape {shapeText}; save a C-order array, e.g. np.save(path, np.ascontiguousarray(a))");

            long dataStart = _pos;
            byte[] data = ReadBlock(nbytes, avail =>
                $"array data is truncated: expected {nbytes} bytes for shape {shapeText} of '{h.Descr}', found only {avail}", dataStart);

            return new NpyArray(dtype, shape, data, validated: true);
        }

        private long? Remaining() => s.CanSeek ? Math.Max(0, s.Length - s.Position) : null;

        private int ReadUpTo(Span<byte> dst)
        {
            int got = 0;
            while (got < dst.Length)
            {
                int r = s.Read(dst[got..]);
                if (r <= 0) break;
                got += r;
            }
            return got;
        }

        private void ReadExact(Span<byte> dst, string what)
        {
            int got = ReadUpTo(dst);
            if (got < dst.Length)
                throw Fail(_pos, $"file is truncated: {what} needs {dst.Length} bytes but only {got} are present");
            _pos += got;
        }

        /// <summary>Reads exactly n bytes (n already bounded by a limit). Seekable streams: checks the length
        /// first and allocates once. Others: grows the buffer with the data actually received.</summary>
        private byte[] ReadBlock(long n, Func<long, string> shortMessage, long errorOffset)
        {
            if (Remaining() is { } rem && n > rem)
                throw Fail(errorOffset, shortMessage(rem));
            int total = checked((int)n);
            byte[] buf = s.CanSeek ? new byte[total] : new byte[Math.Min(total, InitialChunk)];
            int filled = 0;
            while (filled < total)
            {
                if (filled == buf.Length)
                    Array.Resize(ref buf, (int)Math.Min(total, buf.Length * 2L));
                int r = s.Read(buf, filled, buf.Length - filled);
                if (r <= 0) throw Fail(errorOffset, shortMessage(filled));
                filled += r;
            }
            _pos += filled;
            return buf;
        }

        private static string Hex(ReadOnlySpan<byte> b)
        {
            var parts = new string[b.Length];
            for (int i = 0; i < b.Length; i++)
                parts[i] = b[i] is >= 0x20 and < 0x7F && b[i] != '\\' ? ((char)b[i]).ToString() : $"\\x{b[i]:x2}";
            return "'" + string.Concat(parts) + "'";
        }
    }

    // ------------------------------------------------------------------ write

    /// <summary>Writes header and data to <paramref name="s"/> at its current position.</summary>
    public static void Write(Stream s, NpyArray a)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(a);
        try
        {
            WriteCore(s, a);
        }
        catch (IOException e)
        {
            throw new EmaException($"NPY stream: I/O error while writing: {e.Message}", e);
        }
    }

    private static void WriteCore(Stream s, NpyArray a)
    {
        s.Write(NpyHeader.Wrap(NpyHeader.FormatDict(a.DType, a.Shape)));
        s.Write(a.RawBytes);
    }

    /// <summary>
    /// Writes a .npy file atomically: the bytes go to a temporary file in the same directory, which is
    /// flushed to disk and then moved over <paramref name="path"/> (File.Move with overwrite). Readers see
    /// the old file or the new one, never a partial one; on failure the temporary file is removed.
    /// </summary>
    public static void Write(string path, NpyArray a)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(a);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? throw new EmaException($"cannot write NPY file '{path}': not a file path");
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                WriteCore(fs, a);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e)
        {
            TryDelete(tmp);
            if (e is IOException or UnauthorizedAccessException)
                throw new EmaException($"cannot write NPY file '{path}': {e.Message}", e);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
