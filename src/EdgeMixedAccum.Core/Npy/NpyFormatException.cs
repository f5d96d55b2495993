namespace EdgeMixedAccum.Npy;

/// <summary>
/// A .npy file (or stream) is malformed, truncated, or uses a feature this reader does not support.
/// The message names the source (file path when known) and the byte offset where the problem was found.
/// </summary>
public sealed class NpyFormatException : EmaException
{
    /// <summary>File path or caller-supplied name of the stream; null when unknown.</summary>
    public string? SourceName { get; }

    /// <summary>Byte offset in the stream where the problem was detected (null if not tied to a position).</summary>
    public long? ByteOffset { get; }

    public NpyFormatException(string message) : base(message) { }
    public NpyFormatException(string message, Exception inner) : base(message, inner) { }

    internal NpyFormatException(string? sourceName, long? byteOffset, string problem)
        : base(Compose(sourceName, byteOffset, problem))
    {
        SourceName = sourceName;
        ByteOffset = byteOffset;
    }

    private static string Compose(string? sourceName, long? byteOffset, string problem)
    {
        string where = sourceName is null ? "NPY stream" : $"NPY file '{sourceName}'";
        return byteOffset is { } off ? $"{where}: {problem} (at byte offset {off})" : $"{where}: {problem}";
    }
}
