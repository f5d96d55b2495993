using System.Text;
using System.Buffers.Binary;
using System.IO.Hashing;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Format;

/// <summary>Writes .ema files as specified in ema-format.md. Output is deterministic: the same model gives the same bytes.</summary>
public static class EmaWriter
{
    public const ushort MajorVersion = 1;
    /// <summary>The newest minor version this writer writes (ema-format.md, "Versions").</summary>
    public const ushort MinorVersion = 2;

    /// <summary>The minor version a graph needs: 2 when it uses the activation added in 1.2 (LeakyReluClip), 1 when
    /// it uses an op added in 1.1 (LayerNorm, Transpose), else 0, so files of older models stay byte-identical
    /// and readable by older readers.</summary>
    public static ushort MinorVersionFor(ModelGraph g) =>
        g.Nodes.Any(n => ActivationOf(n)?.Kind == ActivationKind.LeakyReluClip) ? (ushort)2
        : g.Nodes.Any(n => n.Op is OpKind.LayerNorm or OpKind.Transpose) ? (ushort)1 : (ushort)0;

    private static Activation? ActivationOf(Node n) => n switch
    {
        LayerNode l => l.Activation,
        ActivationNode a => a.Activation,
        _ => null,
    };
    public const int Alignment = 64;
    internal const int HeaderSize = 64;
    internal const int TableEntrySize = 32;
    internal static ReadOnlySpan<byte> Magic => [0x89, (byte)'E', (byte)'M', (byte)'A', 0x0D, 0x0A, 0x1A, 0x0A];

    internal enum SectionKind : uint { Meta = 1, Graph = 2, Tensors = 3, Data = 4, Target = 5 }

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/> atomically: the bytes go to a temporary
    /// file in the same directory, are flushed to disk, and the file is renamed over the target.
    /// An exception leaves any existing file at <paramref name="path"/> untouched.
    /// </summary>
    public static void Write(string path, EmaModel model) => WriteAtomic(path, ToBytes(model), null);

    /// <param name="wrap">Tests only: wraps the temporary file's stream (to fail mid-write, as a full disk or a
    /// killed process would); null in production.</param>
    internal static void WriteAtomic(string path, byte[] bytes, Func<Stream, Stream>? wrap)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                var s = wrap?.Invoke(fs) ?? fs;
                s.Write(bytes);
                s.Flush();
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>The complete file as bytes. Validates the graph first.</summary>
    public static byte[] ToBytes(EmaModel model)
    {
        var g = model.Graph;
        g.Validate();
        Limits.CheckGraph(g); // the reader's limits: never write a file it would refuse

        // DATA and TENSORS together: each blob at a 64-byte multiple within DATA.
        var data = new SectionWriter();
        var tensors = new SectionWriter();
        tensors.U32((uint)g.Tensors.Count);
        for (int i = 0; i < g.Tensors.Count; i++)
            if (EmaReader.ValueProblem(g.Tensors[i], $"tensor {i} '{g.Tensors[i].Name}'") is { } problem) throw new EmaException(problem);
        foreach (var t in g.Tensors)
        {
            ulong Blob(ReadOnlySpan<byte> b)
            {
                data.Align(Alignment);
                ulong at = (ulong)data.Length;
                data.Bytes(b);
                return at;
            }
            tensors.Str(t.Name);
            tensors.U8((byte)t.DType);
            tensors.I32s(t.Shape);
            tensors.U64(Blob(t.Data.Span));
            tensors.U64((ulong)t.Data.Length);
            if (t.DType == TensorDType.Int8) { tensors.U64(Blob(t.ScalesBytes.Span)); tensors.U32((uint)t.Scales.Length); }
            else { tensors.U64(0); tensors.U32(0); }
            if (t.HasRowStats)
            {
                tensors.U64(Blob(t.RowL1Bytes.Span));
                tensors.U64(Blob(t.RowL2Bytes.Span));
                tensors.U32((uint)t.Rows);
            }
            else { tensors.U64(0); tensors.U64(0); tensors.U32(0); }
        }
        data.Align(Alignment);

        var meta = new SectionWriter();
        var m = model.Metadata;
        meta.Str(m.ModelName);
        if (m.SourceSha256.Length != 32) throw new EmaException($"source hash must be 32 bytes, got {m.SourceSha256.Length}");
        meta.Bytes(m.SourceSha256);
        meta.Str(m.ConverterVersion);
        if (m.Normalization is { } norm)
        {
            if (norm.Mean.Length == 0 || norm.Mean.Length != norm.Std.Length)
                throw new EmaException($"normalisation needs as many means as stds (>= 1), got {norm.Mean.Length} and {norm.Std.Length}");
            meta.U8(1); meta.F32s(norm.Mean); meta.F32s(norm.Std);
        }
        else meta.U8(0);
        if (EmaReader.LabelCountProblem(m.Labels.Count, g) is { } labelProblem) throw new EmaException(labelProblem);
        meta.U32((uint)m.Labels.Count);
        foreach (var l in m.Labels) meta.Str(l);
        WriteIo(meta, g, g.Inputs);
        WriteIo(meta, g, g.Outputs);

        var graph = new SectionWriter();
        graph.U32((uint)g.Values.Count);
        foreach (var v in g.Values) { graph.Str(v.Name); graph.I32s(v.Shape); graph.I32(v.Constant); }
        graph.U32((uint)g.Inputs.Count);
        foreach (int i in g.Inputs) graph.U32((uint)i);
        graph.U32((uint)g.Outputs.Count);
        foreach (int o in g.Outputs) graph.U32((uint)o);
        graph.U32((uint)g.Nodes.Count);
        foreach (var n in g.Nodes) NodeCodec.Write(graph, n);

        var sections = new List<(SectionKind Kind, SectionWriter W)>
        {
            (SectionKind.Meta, meta), (SectionKind.Graph, graph), (SectionKind.Tensors, tensors), (SectionKind.Data, data),
        };
        if (m.Target is { } target)
        {
            // Optional (flag bit 0): a reader that does not know it skips it, so files without a board stay byte-identical.
            if (target.Board.Length == 0 || Encoding.UTF8.GetByteCount(target.Board) > ModelTarget.MaxNameBytes)
                throw new EmaException($"target board name '{target.Board}' must be 1 to {ModelTarget.MaxNameBytes} bytes");
            if (target.Features.Count > ModelTarget.MaxFeatures) throw new EmaException($"target has {target.Features.Count} features, more than {ModelTarget.MaxFeatures}");
            var t = new SectionWriter();
            t.Str(target.Board);
            t.U32((uint)target.Features.Count);
            foreach (var feature in target.Features) t.Str(feature);
            sections.Add((SectionKind.Target, t));
        }
        long tableEnd = HeaderSize + (long)sections.Count * TableEntrySize;
        long pos = AlignUp(tableEnd);
        var offsets = new long[sections.Count];
        for (int i = 0; i < sections.Count; i++)
        {
            offsets[i] = pos;
            pos = AlignUp(pos + sections[i].W.Length);
        }
        if (pos > EmaReader.MaxFileBytes) throw new EmaException($"model needs {pos} bytes, more than the format limit {EmaReader.MaxFileBytes}");
        var file = new byte[pos];
        var table = file.AsSpan(HeaderSize, sections.Count * TableEntrySize);
        for (int i = 0; i < sections.Count; i++)
        {
            var body = sections[i].W.Written;
            body.CopyTo(file.AsSpan((int)offsets[i]));
            var e = table.Slice(i * TableEntrySize, TableEntrySize);
            BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)sections[i].Kind);
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], sections[i].Kind == SectionKind.Target ? 1u : 0u);
            BinaryPrimitives.WriteUInt64LittleEndian(e[8..], (ulong)offsets[i]);
            BinaryPrimitives.WriteUInt64LittleEndian(e[16..], (ulong)body.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(e[24..], Crc32.HashToUInt32(body));
        }
        var h = file.AsSpan(0, HeaderSize);
        Magic.CopyTo(h);
        BinaryPrimitives.WriteUInt16LittleEndian(h[8..], MajorVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(h[10..], MinorVersionFor(g));
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], (uint)sections.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(h[16..], HeaderSize);
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], (ulong)file.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[32..], Crc32.HashToUInt32(table));
        BinaryPrimitives.WriteUInt32LittleEndian(h[36..], Crc32.HashToUInt32(h[..36]));
        return file;
    }

    private static void WriteIo(SectionWriter w, ModelGraph g, List<int> ids)
    {
        w.U32((uint)ids.Count);
        foreach (int id in ids) { w.Str(g.Values[id].Name); w.I32s(g.Values[id].Shape); }
    }

    internal static long AlignUp(long v) => (v + Alignment - 1) / Alignment * Alignment;
}
