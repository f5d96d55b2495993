namespace EdgeMixedAccum.Format;

/// <summary>A .ema file that breaks the spec (ema-format.md): names the section and the byte offset.</summary>
public sealed class EmaFormatException : EmaException
{
    public EmaFormatException(string? file, string section, long offset, string what)
        : base($"corrupt .ema file{(file is null ? "" : $" '{file}'")}: section {section} at byte {offset}: {what}")
    {
        Section = section;
        Offset = offset;
    }

    /// <summary>HEADER, TABLE, META, GRAPH, TENSORS or DATA.</summary>
    public string Section { get; }
    /// <summary>Byte offset from the start of the file.</summary>
    public long Offset { get; }
}
