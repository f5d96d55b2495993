using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Tests.Format;

/// <summary>
/// A test-side encoder of .ema files written from ema-format.md, independent of <see cref="EmaWriter"/>
/// and without any validation: every field is a plain value a test can set to anything (an unknown op
/// code, a rank-100 shape, an id out of range). <see cref="Encode"/> records the absolute offset of every
/// field it writes in <see cref="Encoded.At"/>, so tests can assert the offset a reader error names.
/// <see cref="From"/> mirrors a valid model; for those, the encoding equals EmaWriter's bytes exactly.
/// </summary>
public sealed class RawFile
{
    public byte[] Magic = [0x89, 0x45, 0x4D, 0x41, 0x0D, 0x0A, 0x1A, 0x0A];
    public ushort Major = 1, Minor = 0;
    public RawMeta Meta = new();
    public List<RawValue> Values = [];
    public List<uint> Inputs = [];
    public List<uint> Outputs = [];
    public List<RawNode> Nodes = [];
    public List<RawTensor> Tensors = [];
    public byte[] Data = [];
    /// <summary>Sections after the four standard ones (kind, flags, body).</summary>
    public List<(uint Kind, uint Flags, byte[] Body)> Extra = [];
    /// <summary>Physical placement order of the sections (indices into table order); null = table order.</summary>
    public int[]? Placement;

    public sealed class RawMeta
    {
        public string Name = "";
        public byte[] Sha = new byte[32];
        public string Converter = "";
        public byte HasNorm;
        public float[] Mean = [], Std = [];
        public List<string> Labels = [];
        public List<(string Name, int[] Shape)> Inputs = [], Outputs = [];
    }

    public sealed class RawValue
    {
        public string Name = "";
        public int[] Shape = [];
        public int Constant = -1;
    }

    public sealed class RawLayer
    {
        public byte Act, Prec, Est, Reserved;
        public float Alpha, Min, Max, Tau, TauNeg;
        public int Block;
        public float Scale;
    }

    public sealed class RawAttr
    {
        public string Name = "";
        public byte Type; // 1 ints, 2 floats
        public int[] Ints = [];
        public float[] Floats = [];
        public static RawAttr I(string name, params int[] v) => new() { Name = name, Type = 1, Ints = v };
        public static RawAttr F(string name, params float[] v) => new() { Name = name, Type = 2, Floats = v };
    }

    public sealed class RawNode
    {
        public byte Op;
        public string Name = "";
        public int[] Inputs = [];
        public int Output;
        public RawLayer? Layer;
        public List<RawAttr> Attrs = [];
    }

    public sealed class RawTensor
    {
        public string Name = "";
        public byte DType;
        public int[] Shape = [];
        public ulong DataOff, DataLen, ScalesOff;
        public uint ScaleCount;
        public ulong L1Off, L2Off;
        public uint RowCount;
    }

    public sealed record Encoded(byte[] Bytes, Dictionary<string, long> At)
    {
        public long this[string key] => At.TryGetValue(key, out long v) ? v : throw new KeyNotFoundException($"no field '{key}' was recorded");
    }

    /// <summary>The raw fields of a (valid) model, laid out the way ema-format.md describes.</summary>
    public static RawFile From(EmaModel model)
    {
        var g = model.Graph; var m = model.Metadata;
        var raw = new RawFile();
        // Spec, "Versions": minor 2 exactly when activation code 8 (format 1.2) is used, else 1 exactly when an op of
        // format 1.1 (codes 12, 13) is used.
        raw.Minor = (ushort)(g.Nodes.Any(UsesActivation8) ? 2 : g.Nodes.Any(n => (byte)n.Op is 12 or 13) ? 1 : 0);
        raw.Meta.Name = m.ModelName;
        raw.Meta.Sha = (byte[])m.SourceSha256.Clone();
        raw.Meta.Converter = m.ConverterVersion;
        if (m.Normalization is { } n) { raw.Meta.HasNorm = 1; raw.Meta.Mean = n.Mean; raw.Meta.Std = n.Std; }
        raw.Meta.Labels = [.. m.Labels];
        raw.Meta.Inputs = g.Inputs.Select(i => (g.Values[i].Name, g.Values[i].Shape)).ToList();
        raw.Meta.Outputs = g.Outputs.Select(i => (g.Values[i].Name, g.Values[i].Shape)).ToList();
        raw.Values = g.Values.Select(v => new RawValue { Name = v.Name, Shape = v.Shape, Constant = v.Constant }).ToList();
        raw.Inputs = g.Inputs.Select(i => (uint)i).ToList();
        raw.Outputs = g.Outputs.Select(i => (uint)i).ToList();
        raw.Nodes = g.Nodes.Select(RawNodeOf).ToList();

        var data = new List<byte>();
        ulong Blob(ReadOnlySpan<byte> b)
        {
            while (data.Count % 64 != 0) data.Add(0);
            ulong at = (ulong)data.Count;
            data.AddRange(b.ToArray());
            return at;
        }
        foreach (var t in g.Tensors)
        {
            var rt = new RawTensor { Name = t.Name, DType = (byte)t.DType, Shape = t.Shape };
            rt.DataOff = Blob(t.Data.Span); rt.DataLen = (ulong)t.Data.Length;
            if (t.DType == TensorDType.Int8) { rt.ScalesOff = Blob(t.ScalesBytes.Span); rt.ScaleCount = (uint)(t.ScalesBytes.Length / 4); }
            if (t.Shape.Length >= 2)
            {
                rt.L1Off = Blob(t.RowL1Bytes.Span); rt.L2Off = Blob(t.RowL2Bytes.Span); rt.RowCount = (uint)t.Shape[0];
            }
            raw.Tensors.Add(rt);
        }
        while (data.Count % 64 != 0) data.Add(0);
        raw.Data = data.ToArray();
        return raw;
    }

    /// <summary>Re-places the DATA blobs (data, scales, row L1, row L2 of every tensor) in the order
    /// <paramref name="order"/> gives for their count, each at a multiple of 64, and updates the offsets.</summary>
    public void RelayoutData(Func<int, int[]> order)
    {
        var blobs = new List<(RawTensor T, int Field, byte[] Bytes)>();
        foreach (var t in Tensors)
        {
            blobs.Add((t, 0, Data.AsSpan((int)t.DataOff, (int)t.DataLen).ToArray()));
            if (t.ScaleCount > 0) blobs.Add((t, 1, Data.AsSpan((int)t.ScalesOff, (int)t.ScaleCount * 4).ToArray()));
            if (t.RowCount > 0)
            {
                blobs.Add((t, 2, Data.AsSpan((int)t.L1Off, (int)t.RowCount * 4).ToArray()));
                blobs.Add((t, 3, Data.AsSpan((int)t.L2Off, (int)t.RowCount * 4).ToArray()));
            }
        }
        var data = new List<byte>();
        foreach (int i in order(blobs.Count))
        {
            while (data.Count % 64 != 0) data.Add(0);
            var (t, field, bytes) = blobs[i];
            ulong at = (ulong)data.Count;
            switch (field) { case 0: t.DataOff = at; break; case 1: t.ScalesOff = at; break; case 2: t.L1Off = at; break; default: t.L2Off = at; break; }
            data.AddRange(bytes);
        }
        while (data.Count % 64 != 0) data.Add(0);
        Data = data.ToArray();
    }

    private static bool UsesActivation8(Node n) => n switch
    {
        LayerNode l => (byte)l.Activation.Kind == 8,
        ActivationNode a => (byte)a.Activation.Kind == 8,
        _ => false,
    };

    private static RawNode RawNodeOf(Node n)
    {
        var r = new RawNode { Op = (byte)n.Op, Name = n.Name, Inputs = n.Inputs, Output = n.Output };
        if (n is LayerNode l)
        {
            r.Layer = new RawLayer
            {
                Act = (byte)l.Activation.Kind, Prec = (byte)l.Plan.Precision, Est = (byte)l.Plan.Estimator,
                Alpha = l.Activation.Alpha, Min = l.Activation.Min, Max = l.Activation.Max,
                Tau = l.Plan.Tau, TauNeg = l.Plan.TauNegative, Block = l.Plan.BlockSize, Scale = l.Plan.InputScale,
            };
        }
        switch (n)
        {
            case ConvNode c:
                r.Attrs = [RawAttr.I("strides", c.Strides), RawAttr.I("pads", c.Pads), RawAttr.I("dilations", c.Dilations), RawAttr.I("group", c.Groups)];
                break;
            case PoolNode p:
                r.Attrs = [RawAttr.I("kernel", p.Kernel), RawAttr.I("strides", p.Strides), RawAttr.I("pads", p.Pads),
                    RawAttr.I("dilations", p.Dilations), RawAttr.I("ceil_mode", p.CeilMode ? 1 : 0)];
                if (!p.IsMax) r.Attrs.Add(RawAttr.I("count_include_pad", p.CountIncludePad ? 1 : 0));
                break;
            case FlattenNode f: r.Attrs = [RawAttr.I("axis", f.Axis)]; break;
            case SoftmaxNode s: r.Attrs = [RawAttr.I("axis", s.Axis)]; break;
            case ConcatNode cc: r.Attrs = [RawAttr.I("axis", cc.Axis)]; break;
            case ReshapeNode rs: r.Attrs = [RawAttr.I("shape", rs.Target)]; break;
            case ActivationNode a:
                r.Attrs = [RawAttr.I("activation", (int)a.Activation.Kind), RawAttr.F("params", a.Activation.Alpha, a.Activation.Min, a.Activation.Max)];
                break;
            case LayerNormNode ln: r.Attrs = [RawAttr.I("axis", ln.Axis), RawAttr.F("epsilon", ln.Epsilon)]; break;
            case TransposeNode t: r.Attrs = [RawAttr.I("perm", t.Perm)]; break;
        }
        return r;
    }

    private sealed class W(Dictionary<string, long> at, string section)
    {
        private readonly List<byte> _b = [];
        public int Length => _b.Count;
        public byte[] ToArray() => _b.ToArray();
        /// <summary>Records the current position, relative to the section (made absolute once placed).</summary>
        public void Mark(string key) => at[section + "." + key] = _b.Count;
        public void U8(byte v) => _b.Add(v);
        public void U16(ushort v) { Span<byte> s = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(s, v); _b.AddRange(s.ToArray()); }
        public void U32(uint v) { Span<byte> s = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(s, v); _b.AddRange(s.ToArray()); }
        public void I32(int v) => U32((uint)v);
        public void U64(ulong v) { Span<byte> s = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(s, v); _b.AddRange(s.ToArray()); }
        public void F32(float v) => U32(BitConverter.SingleToUInt32Bits(v));
        public void Str(string s) { var b = Encoding.UTF8.GetBytes(s); U32((uint)b.Length); _b.AddRange(b); }
        public void I32s(int[] v) { U32((uint)v.Length); foreach (int x in v) I32(x); }
        public void F32s(float[] v) { U32((uint)v.Length); foreach (float x in v) F32(x); }
        public void Bytes(byte[] b) => _b.AddRange(b);
    }

    public Encoded Encode()
    {
        var at = new Dictionary<string, long>();

        var meta = new W(at, "META");
        meta.Mark("name"); meta.Str(Meta.Name);
        meta.Mark("sha"); meta.Bytes(Meta.Sha);
        meta.Mark("converter"); meta.Str(Meta.Converter);
        meta.Mark("norm"); meta.U8(Meta.HasNorm);
        if (Meta.HasNorm != 0) { meta.Mark("mean"); meta.F32s(Meta.Mean); meta.Mark("std"); meta.F32s(Meta.Std); }
        meta.Mark("labels"); meta.U32((uint)Meta.Labels.Count);
        for (int i = 0; i < Meta.Labels.Count; i++) { meta.Mark($"label[{i}]"); meta.Str(Meta.Labels[i]); }
        meta.Mark("inputs"); meta.U32((uint)Meta.Inputs.Count);
        for (int i = 0; i < Meta.Inputs.Count; i++) { meta.Mark($"input[{i}]"); meta.Str(Meta.Inputs[i].Name); meta.I32s(Meta.Inputs[i].Shape); }
        meta.Mark("outputs"); meta.U32((uint)Meta.Outputs.Count);
        for (int i = 0; i < Meta.Outputs.Count; i++) { meta.Mark($"output[{i}]"); meta.Str(Meta.Outputs[i].Name); meta.I32s(Meta.Outputs[i].Shape); }
        meta.Mark("end");

        var graph = new W(at, "GRAPH");
        graph.Mark("values"); graph.U32((uint)Values.Count);
        for (int v = 0; v < Values.Count; v++)
        {
            graph.Mark($"value[{v}]"); graph.Str(Values[v].Name);
            graph.Mark($"value[{v}].shape"); graph.U32((uint)Values[v].Shape.Length);
            graph.Mark($"value[{v}].dims"); foreach (int d in Values[v].Shape) graph.I32(d);
            graph.Mark($"value[{v}].constant"); graph.I32(Values[v].Constant);
        }
        graph.Mark("inputs"); graph.U32((uint)Inputs.Count);
        for (int i = 0; i < Inputs.Count; i++) { graph.Mark($"input[{i}]"); graph.U32(Inputs[i]); }
        graph.Mark("outputs"); graph.U32((uint)Outputs.Count);
        for (int i = 0; i < Outputs.Count; i++) { graph.Mark($"output[{i}]"); graph.U32(Outputs[i]); }
        graph.Mark("nodes"); graph.U32((uint)Nodes.Count);
        for (int n = 0; n < Nodes.Count; n++)
        {
            var node = Nodes[n];
            string k = $"node[{n}]";
            graph.Mark(k); graph.U8(node.Op);
            graph.Str(node.Name);
            graph.Mark(k + ".inputs"); graph.U8((byte)node.Inputs.Length);
            foreach (int i in node.Inputs) graph.I32(i);
            graph.Mark(k + ".output"); graph.I32(node.Output);
            if (node.Layer is { } l)
            {
                graph.Mark(k + ".layer");
                graph.U8(l.Act); graph.U8(l.Prec); graph.U8(l.Est); graph.U8(l.Reserved);
                graph.F32(l.Alpha); graph.F32(l.Min); graph.F32(l.Max); graph.F32(l.Tau); graph.F32(l.TauNeg);
                graph.I32(l.Block); graph.F32(l.Scale);
            }
            graph.Mark(k + ".attrs"); graph.U16((ushort)node.Attrs.Count);
            for (int a = 0; a < node.Attrs.Count; a++)
            {
                var attr = node.Attrs[a];
                graph.Mark($"{k}.attr[{a}]"); graph.Str(attr.Name); graph.U8(attr.Type);
                graph.Mark($"{k}.attr[{a}].count"); graph.U32((uint)(attr.Type == 2 ? attr.Floats.Length : attr.Ints.Length));
                graph.Mark($"{k}.attr[{a}].values");
                if (attr.Type == 2) foreach (float f in attr.Floats) graph.F32(f); else foreach (int i in attr.Ints) graph.I32(i);
            }
        }
        graph.Mark("end");

        var tensors = new W(at, "TENSORS");
        tensors.Mark("count"); tensors.U32((uint)Tensors.Count);
        for (int i = 0; i < Tensors.Count; i++)
        {
            var t = Tensors[i];
            string k = $"tensor[{i}]";
            tensors.Mark(k); tensors.Str(t.Name);
            tensors.Mark(k + ".dtype"); tensors.U8(t.DType);
            tensors.Mark(k + ".shape"); tensors.U32((uint)t.Shape.Length);
            tensors.Mark(k + ".dims"); foreach (int d in t.Shape) tensors.I32(d);
            tensors.Mark(k + ".data"); tensors.U64(t.DataOff); tensors.U64(t.DataLen);
            tensors.Mark(k + ".scales"); tensors.U64(t.ScalesOff); tensors.U32(t.ScaleCount);
            tensors.Mark(k + ".rows"); tensors.U64(t.L1Off); tensors.U64(t.L2Off); tensors.U32(t.RowCount);
        }
        tensors.Mark("end");

        var sections = new List<(uint Kind, uint Flags, byte[] Body, string Name)>
        {
            (1, 0, meta.ToArray(), "META"), (2, 0, graph.ToArray(), "GRAPH"), (3, 0, tensors.ToArray(), "TENSORS"), (4, 0, Data, "DATA"),
        };
        for (int i = 0; i < Extra.Count; i++) sections.Add((Extra[i].Kind, Extra[i].Flags, Extra[i].Body, $"EXTRA{i}"));

        var order = Placement ?? Enumerable.Range(0, sections.Count).ToArray();
        long pos = Align(64 + 32L * sections.Count);
        var offsets = new long[sections.Count];
        foreach (int s in order)
        {
            offsets[s] = pos;
            pos = Align(pos + sections[s].Body.Length);
        }
        var file = new byte[pos];
        for (int s = 0; s < sections.Count; s++)
        {
            var (kind, flags, body, name) = sections[s];
            body.CopyTo(file, offsets[s]);
            long e = 64 + 32L * s;
            at[$"TABLE.entry[{s}]"] = e;
            at[name] = offsets[s];
            BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan((int)e), kind);
            BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan((int)e + 4), flags);
            BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan((int)e + 8), (ulong)offsets[s]);
            BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan((int)e + 16), (ulong)body.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan((int)e + 24), Crc32.HashToUInt32(body));
        }
        // Field offsets were recorded relative to their section: make them absolute.
        foreach (var key in at.Keys.ToList())
        {
            int dot = key.IndexOf('.');
            if (dot < 0 || key.StartsWith("TABLE.", StringComparison.Ordinal)) continue;
            at[key] += at[key[..dot]];
        }
        Magic.CopyTo(file, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(8), Major);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(10), Minor);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(12), (uint)sections.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(16), 64);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(24), (ulong)file.Length);
        FixCrcs(file);
        return new Encoded(file, at);
    }

    private static long Align(long v) => (v + 63) / 64 * 64;

    /// <summary>
    /// Recomputes every CRC of a (patched) file from its own header and table: each section's CRC over its
    /// table range (entries whose range lies outside the file are left alone), the table CRC and the header
    /// CRC. After a patch, this makes the reader get past the CRC checks to the check the patch targets.
    /// </summary>
    public static void FixCrcs(byte[] f)
    {
        if (f.Length < 64) return;
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(12));
        long tableEnd = 64 + 32L * Math.Min(count, 1000u);
        if (tableEnd <= f.Length)
        {
            for (int i = 0; i < count; i++)
            {
                var e = f.AsSpan(64 + 32 * i, 32);
                ulong off = BinaryPrimitives.ReadUInt64LittleEndian(e[8..]), len = BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
                if (off <= (ulong)f.Length && len <= (ulong)f.Length - off)
                    BinaryPrimitives.WriteUInt32LittleEndian(e[24..], Crc32.HashToUInt32(f.AsSpan((int)off, (int)len)));
            }
            BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(32), Crc32.HashToUInt32(f.AsSpan(64, (int)(tableEnd - 64))));
        }
        BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(36), Crc32.HashToUInt32(f.AsSpan(0, 36)));
    }

    /// <summary>Table entry <paramref name="i"/> of a file: kind, flags, offset, length.</summary>
    public static (uint Kind, uint Flags, long Offset, long Length) Entry(byte[] f, int i)
    {
        var e = f.AsSpan(64 + 32 * i, 32);
        return (BinaryPrimitives.ReadUInt32LittleEndian(e), BinaryPrimitives.ReadUInt32LittleEndian(e[4..]),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(e[8..]), (long)BinaryPrimitives.ReadUInt64LittleEndian(e[16..]));
    }

    public static int SectionCount(byte[] f) => (int)BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(12));

    public static void SetU32(byte[] f, long at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan((int)at), v);
    public static void SetI32(byte[] f, long at, int v) => BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan((int)at), v);
    public static void SetU64(byte[] f, long at, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(f.AsSpan((int)at), v);
    public static void SetU16(byte[] f, long at, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan((int)at), v);
}
