using System.Buffers.Binary;
using System.IO.Hashing;
using EdgeMixedAccum.Graph;
using static EdgeMixedAccum.Format.EmaWriter;

namespace EdgeMixedAccum.Format;

/// <summary>Options for <see cref="EmaReader"/>.</summary>
public sealed record EmaReadOptions
{
    /// <summary>Check the CRC of the DATA section too (the weights). Off saves a pass over a large
    /// memory-mapped file at start-up; the other sections are always checked.</summary>
    public bool VerifyDataCrc { get; init; } = true;
    /// <summary>Refuse files larger than this.</summary>
    public long MaxFileBytes { get; init; } = Limits.MaxFileBytes;
}

/// <summary>
/// Reads and validates .ema files (ema-format.md). Nothing is trusted before it is checked: every
/// length against the bytes that remain, every count against its limit, every id against its table.
/// Problems raise <see cref="EmaFormatException"/> naming the section and byte offset. Tensors are views
/// into the given buffer (no copy), so a memory-mapped buffer is used in place.
/// </summary>
public static class EmaReader
{
    // The limits live in Limits (one place for the reader, the importer and the docs); these names stay for callers.
    /// <summary>The largest file this reader accepts (2 GiB - 1, the largest managed buffer).</summary>
    public const long MaxFileBytes = Limits.MaxFileBytes;
    public const int MaxSections = Limits.MaxSections;
    public const int MaxTensors = Limits.MaxTensors;
    public const int MaxLabels = Limits.MaxLabels;
    public const int MaxRank = Limits.MaxRank;

    public static EmaModel Read(string path, EmaReadOptions? options = null)
    {
        options ??= new EmaReadOptions();
        long length;
        if (!File.Exists(path)) throw new EmaException($"model file '{path}' does not exist");
        try { length = new FileInfo(path).Length; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new EmaException($"cannot open model file '{path}': {e.Message}", e); }
        if (length > options.MaxFileBytes) throw new EmaFormatException(path, "HEADER", 0, $"file is {length} bytes, more than the limit {options.MaxFileBytes}");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new EmaException($"cannot read model file '{path}': {e.Message}", e); }
        return Read(bytes, path, options);
    }

    /// <param name="file">The whole file; tensors of the result refer into it.</param>
    /// <param name="name">File name used in error messages.</param>
    public static EmaModel Read(ReadOnlyMemory<byte> file, string? name = null, EmaReadOptions? options = null)
    {
        options ??= new EmaReadOptions();
        var f = file.Span;
        EmaFormatException Err(string section, long offset, string what) => new(name, section, offset, what);

        // Header.
        if (f.Length > options.MaxFileBytes) throw Err("HEADER", 0, $"file is {f.Length} bytes, more than the limit {options.MaxFileBytes}");
        if (f.Length < HeaderSize) throw Err("HEADER", 0, $"file is {f.Length} bytes, shorter than the {HeaderSize}-byte header");
        if (!f[..8].SequenceEqual(Magic)) throw Err("HEADER", 0, "bad magic: not an .ema file");
        ushort major = BinaryPrimitives.ReadUInt16LittleEndian(f[8..]);
        if (major != MajorVersion) throw Err("HEADER", 8, $"format major version {major} is not supported (this reader reads {MajorVersion})");
        uint headerCrc = BinaryPrimitives.ReadUInt32LittleEndian(f[36..]);
        if (Crc32.HashToUInt32(f[..36]) != headerCrc) throw Err("HEADER", 36, "header CRC-32 mismatch");
        for (int i = 40; i < HeaderSize; i++)
            if (f[i] != 0) throw Err("HEADER", i, "reserved header bytes are not zero");
        uint sectionCount = BinaryPrimitives.ReadUInt32LittleEndian(f[12..]);
        if (sectionCount is 0 or > MaxSections) throw Err("HEADER", 12, $"section count {sectionCount} is outside 1..{MaxSections}");
        ulong tableOffset = BinaryPrimitives.ReadUInt64LittleEndian(f[16..]);
        if (tableOffset != HeaderSize) throw Err("HEADER", 16, $"section table offset {tableOffset} is not {HeaderSize}");
        ulong declaredLength = BinaryPrimitives.ReadUInt64LittleEndian(f[24..]);
        if (declaredLength != (ulong)f.Length)
            throw Err("HEADER", 24, $"header says the file is {declaredLength} bytes but it is {f.Length}{((ulong)f.Length < declaredLength ? " (truncated)" : "")}");
        long tableEnd = checked(HeaderSize + sectionCount * TableEntrySize); // sectionCount <= MaxSections
        if (tableEnd > f.Length) throw Err("TABLE", HeaderSize, $"section table of {sectionCount} entries runs past the end of the file");
        var table = f[HeaderSize..(int)tableEnd];
        if (Crc32.HashToUInt32(table) != BinaryPrimitives.ReadUInt32LittleEndian(f[32..])) throw Err("TABLE", HeaderSize, "section table CRC-32 mismatch");

        // Section table.
        var found = new Dictionary<SectionKind, (int Offset, int Length)>();
        var ranges = new List<(long Start, long End, string Name, long EntryAt)>();
        for (int i = 0; i < sectionCount; i++)
        {
            long at = HeaderSize + i * TableEntrySize;
            var e = table.Slice(i * TableEntrySize, TableEntrySize);
            uint kind = BinaryPrimitives.ReadUInt32LittleEndian(e);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
            ulong off = BinaryPrimitives.ReadUInt64LittleEndian(e[8..]);
            ulong len = BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(e[24..]);
            string sname = Enum.IsDefined((SectionKind)kind) ? ((SectionKind)kind).ToString().ToUpperInvariant() : $"#{kind}";
            if ((flags & ~1u) != 0) throw Err("TABLE", at + 4, $"section {sname}: unknown flags 0x{flags:x}");
            if (BinaryPrimitives.ReadUInt32LittleEndian(e[28..]) != 0) throw Err("TABLE", at + 28, $"section {sname}: reserved field is not zero");
            if (off % Alignment != 0) throw Err("TABLE", at + 8, $"section {sname} offset {off} is not a multiple of {Alignment}");
            if (off < (ulong)tableEnd) throw Err("TABLE", at + 8, $"section {sname} offset {off} overlaps the header or section table (ends at {tableEnd})");
            if (off > (ulong)f.Length || len > (ulong)f.Length - off)
                throw Err("TABLE", at + 16, $"section {sname} [{off}, +{len}) runs past the end of the file ({f.Length} bytes)");
            ranges.Add(((long)off, checked((long)(off + len)), sname, at));
            if (Crc32.HashToUInt32(f.Slice((int)off, (int)len)) != crc
                && (kind != (uint)SectionKind.Data || options.VerifyDataCrc))
                throw Err(sname, (long)off, $"CRC-32 mismatch over {len} bytes");
            if (!Enum.IsDefined((SectionKind)kind))
            {
                if ((flags & 1) == 0) throw Err("TABLE", at, $"unknown section kind {kind} that is not marked optional");
                continue;
            }
            if (!found.TryAdd((SectionKind)kind, ((int)off, (int)len))) throw Err("TABLE", at, $"section {sname} appears twice");
        }
        // Ties sort the shorter range first: an empty range may share its start with the next one.
        ranges.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.End.CompareTo(b.End));
        for (int i = 1; i < ranges.Count; i++)
            if (ranges[i].Start < ranges[i - 1].End)
                throw Err("TABLE", ranges[i].EntryAt + 8, $"section {ranges[i].Name} [{ranges[i].Start}, {ranges[i].End}) overlaps section {ranges[i - 1].Name} [{ranges[i - 1].Start}, {ranges[i - 1].End})");
        foreach (var k in new[] { SectionKind.Meta, SectionKind.Graph, SectionKind.Tensors, SectionKind.Data })
            if (!found.ContainsKey(k)) throw Err("TABLE", HeaderSize, $"required section {k.ToString().ToUpperInvariant()} is missing");

        var data = found[SectionKind.Data];
        var tensors = ReadTensors(file, found[SectionKind.Tensors], data, name);
        var graph = ReadGraph(f, found[SectionKind.Graph], tensors, name);
        var meta = ReadMeta(f, found[SectionKind.Meta], graph, name);
        if (found.TryGetValue(SectionKind.Target, out var targetSec)) meta.Target = ReadTarget(f, targetSec, name);
        ushort minor = BinaryPrimitives.ReadUInt16LittleEndian(f[10..]);
        return new EmaModel(meta, graph) { FormatVersion = $"{major}.{minor}", FileBytes = f.Length };
    }

    private static List<TensorData> ReadTensors(ReadOnlyMemory<byte> file, (int Offset, int Length) sec, (int Offset, int Length) data, string? name)
    {
        var r = new SectionReader(file.Span.Slice(sec.Offset, sec.Length), sec.Offset, "TENSORS", name);
        int count = r.Count("tensor count", 4 + 1 + 4 + 16 + 12 + 20, MaxTensors);
        var result = new List<TensorData>(count);
        var blobs = new List<(long Start, long End, string What, long At)>();
        for (int i = 0; i < count; i++)
        {
            long entryAt = r.Offset;
            string tname = r.Str($"tensor {i} name");
            string where = $"tensor {i} '{tname}'";
            long at = r.Offset;
            byte dt = r.U8($"{where} dtype");
            if (!((TensorDType)dt).IsDefined()) throw r.ErrorAt(at, $"{where}: unknown dtype code {dt}");
            var dtype = (TensorDType)dt;
            at = r.Offset;
            int[] shape = r.I32s($"{where} shape", MaxRank);
            long elements;
            try { Shapes.Validate(shape, where, allowBatch: false); elements = Limits.CheckElements(shape, where); }
            catch (EmaException e) when (e is not EmaFormatException) { throw r.ErrorAt(at, e.Message); }
            int rows = shape.Length >= 2 ? shape[0] : 0;

            at = r.Offset;
            ulong dataOff = r.U64($"{where} data offset"), dataLen = r.U64($"{where} data length");
            if (dataLen != checked((ulong)elements * (ulong)dtype.ElementSize()))
                throw r.ErrorAt(at + 8, $"{where}: data length {dataLen} does not match shape {Shapes.Format(shape)} of {dtype} ({elements * dtype.ElementSize()} bytes)");
            var payload = Blob(ref r, file, data, blobs, where, dataOff, dataLen, "data", at);

            at = r.Offset;
            ulong scalesOff = r.U64($"{where} scales offset");
            uint scaleCount = r.U32($"{where} scale count");
            int expectScales = dtype == TensorDType.Int8 ? TensorData.ScaleCount(shape) : 0;
            if (scaleCount != expectScales) throw r.ErrorAt(at + 8, $"{where}: {scaleCount} scales, expected {expectScales}");
            ReadOnlyMemory<byte> scales = default;
            if (expectScales > 0) scales = Blob(ref r, file, data, blobs, where, scalesOff, checked(scaleCount * 4UL), "scales", at);
            else if (scalesOff != 0) throw r.ErrorAt(at, $"{where}: scales offset {scalesOff} given without scales");

            at = r.Offset;
            ulong l1Off = r.U64($"{where} row L1 offset"), l2Off = r.U64($"{where} row L2 offset");
            uint statRows = r.U32($"{where} row count");
            if (statRows != rows) throw r.ErrorAt(at + 16, $"{where}: {statRows} row statistics, expected {rows}");
            ReadOnlyMemory<byte> l1 = default, l2 = default;
            if (rows > 0) { l1 = Blob(ref r, file, data, blobs, where, l1Off, checked((ulong)rows * 4), "row L1", at); l2 = Blob(ref r, file, data, blobs, where, l2Off, checked((ulong)rows * 4), "row L2", at + 8); }
            else if (l1Off != 0 || l2Off != 0) throw r.ErrorAt(at, $"{where}: row statistics offsets given for a tensor of rank {shape.Length}");

            var t = new TensorData(tname, dtype, shape, payload, scales, l1, l2);
            CheckValues(t, ref r, entryAt, where);
            result.Add(t);
        }
        r.ExpectEnd();
        blobs.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.End.CompareTo(b.End));
        for (int i = 1; i < blobs.Count; i++)
            if (blobs[i].Start < blobs[i - 1].End)
                throw r.ErrorAt(blobs[i].At, $"{blobs[i].What} overlaps {blobs[i - 1].What} in DATA");
        return result;
    }

    /// <summary>A blob of DATA, checked for alignment and bounds and recorded for the overlap check.</summary>
    private static ReadOnlyMemory<byte> Blob(ref SectionReader r, ReadOnlyMemory<byte> file, (int Offset, int Length) data,
        List<(long Start, long End, string What, long At)> blobs, string where, ulong off, ulong len, string what, long fieldAt)
    {
        if (off % Alignment != 0) throw r.ErrorAt(fieldAt, $"{where}: {what} offset {off} is not a multiple of {Alignment}");
        if (off > (ulong)data.Length || len > (ulong)data.Length - off)
            throw r.ErrorAt(fieldAt, $"{where}: {what} [{off}, +{len}) lies outside the DATA section ({data.Length} bytes)");
        // off + len <= data.Length <= int.MaxValue here: the sums cannot overflow.
        blobs.Add((checked(data.Offset + (long)off), checked(data.Offset + (long)(off + len)), $"{where} {what}", fieldAt));
        return file.Slice(data.Offset + (int)off, (int)len);
    }

    private static void CheckValues(TensorData t, ref SectionReader r, long at, string where)
    {
        if (ValueProblem(t, where) is { } problem) throw r.ErrorAt(at, problem);
    }

    /// <summary>Values the kernels and bounds rely on: int8 in [-127, 127], scales finite and &gt;= 0, row norms
    /// finite and &gt;= 0 (an infinite norm means an infinite weight, which no bound survives). Null when they hold. The writer checks the same so that what it writes reads back.</summary>
    internal static string? ValueProblem(TensorData t, string where)
    {
        if (t.DType == TensorDType.Int8)
        {
            int bad = t.AsInt8().IndexOf((sbyte)-128);
            if (bad >= 0) return $"{where}: int8 element {bad} is -128 (symmetric int8 stays in [-127, 127])";
            foreach (float s in t.Scales)
                if (!float.IsFinite(s) || s < 0) return $"{where}: scale {s} is not finite and >= 0";
        }
        foreach (float v in t.RowL1)
            if (!(v >= 0) || !float.IsFinite(v)) return $"{where}: row L1 norm {v} is not finite and >= 0 (non-finite weights?)";
        foreach (float v in t.RowL2)
            if (!(v >= 0) || !float.IsFinite(v)) return $"{where}: row L2 norm {v} is not finite and >= 0 (non-finite weights?)";
        return null;
    }

    private static ModelGraph ReadGraph(ReadOnlySpan<byte> f, (int Offset, int Length) sec, List<TensorData> tensors, string? name)
    {
        var r = new SectionReader(f.Slice(sec.Offset, sec.Length), sec.Offset, "GRAPH", name);
        var g = new ModelGraph();
        g.Tensors.AddRange(tensors);
        int values = r.Count("value count", 12, Limits.MaxGraphValues);
        long activations = 0; // elements of the non-constant values per batch unit: what a session allocates
        for (int v = 0; v < values; v++)
        {
            long at = r.Offset;
            string vname = r.Str($"value {v} name");
            long shapeAt = r.Offset;
            int[] shape = r.I32s($"value {v} '{vname}' shape", MaxRank);
            int constant = r.I32($"value {v} '{vname}' constant");
            if (constant < -1 || constant >= tensors.Count) throw r.ErrorAt(r.Offset - 4, $"value {v} '{vname}': constant index {constant} is outside -1..{tensors.Count - 1}");
            long elements;
            try { Shapes.Validate(shape, $"value {v} '{vname}'", allowBatch: constant < 0); elements = Limits.CheckElements(shape, $"value {v} '{vname}'"); }
            catch (EmaException e) { throw r.ErrorAt(shapeAt, e.Message); }
            if (constant < 0 && (activations += elements) > Limits.MaxActivationElements)
                throw r.ErrorAt(shapeAt, Limits.ActivationsMessage($"value {v} '{vname}'"));
            g.Values.Add(new ValueInfo(vname, shape, constant));
        }
        ReadIds(ref r, g.Inputs, "graph input", values);
        ReadIds(ref r, g.Outputs, "graph output", values);
        int nodes = r.Count("node count", 11, Limits.MaxGraphNodes);
        var nodeAt = new long[nodes];
        for (int n = 0; n < nodes; n++)
        {
            nodeAt[n] = r.Offset;
            var node = NodeCodec.Read(ref r, n);
            if (node is ConvNode conv && conv.Inputs.Length > 1 && (uint)conv.Inputs[1] < (uint)values)
                NodeCodec.ResolveConvDefaults(conv, Math.Max(0, g.Values[conv.Inputs[1]].Shape.Length - 2));
            g.Nodes.Add(node);
        }
        r.ExpectEnd();
        try { g.Validate(); }
        catch (GraphValidationException e) { throw r.ErrorAt(nodeAt[e.NodeIndex], $"node {e.NodeIndex}: {e.Message}"); }
        catch (EmaException e) when (e is not EmaFormatException) { throw r.ErrorAt(sec.Offset, e.Message); }
        return g;
    }

    private static void ReadIds(ref SectionReader r, List<int> ids, string what, int values)
    {
        int n = r.Count($"{what} count", 4, values);
        for (int i = 0; i < n; i++)
        {
            uint id = r.U32($"{what} id");
            if (id >= (uint)values) throw r.ErrorAt(r.Offset - 4, $"{what} id {id} is out of range (0..{values - 1})");
            ids.Add((int)id);
        }
    }

    private static ModelMetadata ReadMeta(ReadOnlySpan<byte> f, (int Offset, int Length) sec, ModelGraph g, string? name)
    {
        var r = new SectionReader(f.Slice(sec.Offset, sec.Length), sec.Offset, "META", name);
        var m = new ModelMetadata
        {
            ModelName = r.Str("model name"),
            SourceSha256 = r.Bytes(32, "source SHA-256").ToArray(),
            ConverterVersion = r.Str("converter version"),
        };
        long at = r.Offset;
        byte hasNorm = r.U8("normalisation flag");
        if (hasNorm > 1) throw r.ErrorAt(at, $"normalisation flag {hasNorm} is not 0 or 1");
        if (hasNorm == 1)
        {
            at = r.Offset;
            var mean = r.F32s("normalisation mean", 1 << 16);
            var std = r.F32s("normalisation std", 1 << 16);
            if (mean.Length == 0 || mean.Length != std.Length) throw r.ErrorAt(at, $"normalisation has {mean.Length} means and {std.Length} stds");
            if (mean.Any(v => !float.IsFinite(v)) || std.Any(v => !float.IsFinite(v) || v <= 0))
                throw r.ErrorAt(at, "normalisation means must be finite and stds finite and > 0");
            m.Normalization = new InputNormalization(mean, std);
        }
        long labelsAt = r.Offset;
        int labels = r.Count("label count", 4, MaxLabels);
        if (LabelCountProblem(labels, g) is { } problem) throw r.ErrorAt(labelsAt, problem);
        for (int i = 0; i < labels; i++) m.Labels.Add(r.Str($"label {i}"));
        CheckIo(ref r, g, g.Inputs, "input");
        CheckIo(ref r, g, g.Outputs, "output");
        r.ExpectEnd();
        return m;
    }

    private static ModelTarget ReadTarget(ReadOnlySpan<byte> f, (int Offset, int Length) sec, string? name)
    {
        var r = new SectionReader(f.Slice(sec.Offset, sec.Length), sec.Offset, "TARGET", name);
        long at = r.Offset;
        string board = r.Str("board name");
        if (board.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(board) > ModelTarget.MaxNameBytes)
            throw r.ErrorAt(at, $"board name must be 1 to {ModelTarget.MaxNameBytes} bytes");
        int count = r.Count("feature count", 4, ModelTarget.MaxFeatures);
        var features = new string[count];
        for (int i = 0; i < count; i++) features[i] = r.Str($"feature {i}");
        r.ExpectEnd();
        return new ModelTarget(board, features);
    }

    /// <summary>Labels name the first output's last dim: there are none or exactly that many.</summary>
    internal static string? LabelCountProblem(int labels, ModelGraph g)
    {
        if (labels == 0) return null;
        var shape = g.Values[g.Outputs[0]].Shape;
        int dim = shape.Length == 0 ? 0 : shape[^1];
        return labels == dim ? null : $"{labels} labels, but the first output {Shapes.Format(shape)} has {(dim == Shapes.Batch ? "a symbolic" : dim.ToString(System.Globalization.CultureInfo.InvariantCulture))} classes in its last dim";
    }

    private static void CheckIo(ref SectionReader r, ModelGraph g, List<int> ids, string what)
    {
        long at = r.Offset;
        int n = r.Count($"{what} count", 8, ModelGraph.MaxValues);
        if (n != ids.Count) throw r.ErrorAt(at, $"{n} {what}s listed but the graph has {ids.Count}");
        for (int i = 0; i < n; i++)
        {
            at = r.Offset;
            string vname = r.Str($"{what} {i} name");
            int[] shape = r.I32s($"{what} {i} shape", MaxRank);
            var v = g.Values[ids[i]];
            if (vname != v.Name || !Shapes.SameAs(shape, v.Shape))
                throw r.ErrorAt(at, $"{what} {i} '{vname}' {Shapes.Format(shape)} disagrees with the graph's '{v.Name}' {Shapes.Format(v.Shape)}");
        }
    }
}
