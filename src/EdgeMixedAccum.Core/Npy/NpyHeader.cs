using System.Buffers.Binary;
using System.Text;

namespace EdgeMixedAccum.Npy;

/// <summary>Formatting and parsing of the NPY header: magic, version, length and the Python dict literal.</summary>
internal static class NpyHeader
{
    /// <summary>"\x93NUMPY"</summary>
    internal static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>numpy pads magic + version + length + header to a multiple of this.</summary>
    internal const int Alignment = 64;

    /// <summary>numpy (>= 1.24) appends spaces so the first axis can grow to this many digits in place.</summary>
    internal const int GrowthAxisMaxDigits = 21;

    /// <summary>
    /// The dict text exactly as numpy's _write_array_header builds it (keys sorted, repr values, trailing
    /// ", " before '}', then spare spaces for growing axis 0), without the final padding and newline.
    /// </summary>
    internal static string FormatDict(NpyDType dtype, ReadOnlySpan<int> shape)
    {
        var sb = new StringBuilder();
        sb.Append("{'descr': '").Append(dtype.Descr()).Append("', 'fortran_order': False, 'shape': ")
          .Append(NpyArray.FormatShape(shape)).Append(", }");
        if (shape.Length > 0)
            sb.Append(' ', GrowthAxisMaxDigits - shape[0].ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        return sb.ToString();
    }

    /// <summary>
    /// magic + version + little-endian length + dict + space padding + '\n', aligned to 64 bytes like numpy's
    /// _wrap_header (padding is 1..64 spaces). Version 1.0 when the length fits 16 bits, else 2.0.
    /// </summary>
    internal static byte[] Wrap(string dict)
    {
        byte[] text = Encoding.ASCII.GetBytes(dict);
        long hlen = text.LongLength + 1; // + '\n'
        foreach (int major in (ReadOnlySpan<int>)[1, 2])
        {
            int prefix = major == 1 ? 10 : 12;
            long padlen = Alignment - (prefix + hlen) % Alignment;
            long total = hlen + padlen;
            if (major == 1 && total > ushort.MaxValue) continue;
            if (total > uint.MaxValue || prefix + total > Array.MaxLength)
                break;
            var r = new byte[prefix + total];
            Magic.CopyTo(r);
            r[6] = (byte)major;
            r[7] = 0;
            if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(8), (ushort)total);
            else BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(8), (uint)total);
            text.CopyTo(r, prefix);
            r.AsSpan(prefix + text.Length, (int)padlen).Fill((byte)' ');
            r[^1] = (byte)'\n';
            return r;
        }
        throw new EmaException($"NPY header of {text.Length} bytes is too large to write");
    }

    internal sealed record Parsed(string Descr, int DescrPos, bool FortranOrder, int FortranPos, int[] Shape, int ShapePos);

    /// <summary>Error raised by the parser: a position in the header and a description; the reader turns it
    /// into an <see cref="NpyFormatException"/> with the absolute byte offset.</summary>
    internal sealed class ParseError(int position, string problem) : Exception(problem)
    {
        public int Position { get; } = position;
    }

    /// <summary>
    /// Parses the subset of Python dict literals NPY headers use:
    /// <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (3, 4), }</c> in any key order, with any
    /// whitespace, optional trailing commas, single or double quotes (no escapes), shape () / (n,) / (a, b, ...)
    /// and Python 2 'L' suffixes on dimensions. Exactly the three keys, each once.
    /// </summary>
    internal static Parsed Parse(ReadOnlySpan<byte> header)
    {
        var p = new Parser(header);
        return p.Run();
    }

    private ref struct Parser(ReadOnlySpan<byte> h)
    {
        private readonly ReadOnlySpan<byte> _h = h;
        private int _p;

        public Parsed Run()
        {
            string? descr = null; int descrPos = -1;
            bool? fortran = null; int fortranPos = -1;
            int[]? shape = null; int shapePos = -1;

            SkipWs();
            Expect('{', "the header must start with a '{' dict literal");
            while (true)
            {
                SkipWs();
                if (Peek() == '}') { _p++; break; }
                int keyPos = _p;
                if (Peek() is not ('\'' or '"'))
                    throw Malformed("expected a quoted key or '}'");
                string key = ParseString();
                SkipWs();
                Expect(':', $"expected ':' after key '{key}'");
                SkipWs();
                int valuePos = _p;
                switch (key)
                {
                    case "descr":
                        if (descr is not null) throw Dup(keyPos, key);
                        if (Peek() is '[' or '(')
                            throw new ParseError(_p, "structured or sub-array dtypes (descr given as a list/tuple) are not supported");
                        if (Peek() is not ('\'' or '"')) throw Malformed("expected a quoted dtype string for 'descr'");
                        descr = ParseString(); descrPos = valuePos;
                        break;
                    case "fortran_order":
                        if (fortran is not null) throw Dup(keyPos, key);
                        string ident = ParseIdent();
                        fortran = ident switch
                        {
                            "True" => true,
                            "False" => false,
                            "" => throw Malformed("expected True or False for 'fortran_order'"),
                            _ => throw new ParseError(valuePos, $"malformed header: 'fortran_order' must be True or False, found '{ident}'"),
                        };
                        fortranPos = valuePos;
                        break;
                    case "shape":
                        if (shape is not null) throw Dup(keyPos, key);
                        shape = ParseShape(); shapePos = valuePos;
                        break;
                    default:
                        throw new ParseError(keyPos,
                            $"malformed header: unknown key '{Printable(key)}' (expected exactly 'descr', 'fortran_order' and 'shape')");
                }
                SkipWs();
                if (Peek() == ',') { _p++; continue; }
                if (Peek() == '}') { _p++; break; }
                throw Malformed($"expected ',' or '}}' after the value of '{key}'");
            }
            int close = _p - 1;
            SkipWs();
            if (_p != _h.Length) throw Malformed("unexpected text after the closing '}'");
            if (descr is null) throw new ParseError(close, "malformed header: missing key 'descr'");
            if (fortran is null) throw new ParseError(close, "malformed header: missing key 'fortran_order'");
            if (shape is null) throw new ParseError(close, "malformed header: missing key 'shape'");
            return new Parsed(descr, descrPos, fortran.Value, fortranPos, shape, shapePos);
        }

        private int[] ParseShape()
        {
            int start = _p;
            if (Peek() == '[') throw Malformed("'shape' must be a tuple like (2, 3), not a list");
            Expect('(', "expected '(' to start the 'shape' tuple");
            var dims = new List<int>();
            bool trailingComma = false;
            while (true)
            {
                SkipWs();
                if (Peek() == ')') { _p++; break; }
                int dimPos = _p;
                if (Peek() == '-')
                    throw new ParseError(dimPos, $"negative dimension at axis {dims.Count} of 'shape'");
                int d0 = _p;
                while (_p < _h.Length && _h[_p] >= '0' && _h[_p] <= '9') _p++;
                if (_p == d0) throw Malformed("expected a dimension (non-negative integer) or ')' in 'shape'");
                ReadOnlySpan<byte> digits = _h[d0.._p];
                long v = 0;
                foreach (byte b in digits)
                {
                    v = v * 10 + (b - '0');
                    if (v > int.MaxValue)
                        throw new ParseError(dimPos,
                            $"dimension at axis {dims.Count} of 'shape' is absurdly large ({Encoding.ASCII.GetString(digits)} > {int.MaxValue})");
                }
                if (Peek() is 'L' or 'l') _p++; // Python 2 long literal
                if (dims.Count == NpyArray.MaxRank)
                    throw new ParseError(dimPos, $"'shape' has too many dimensions (more than {NpyArray.MaxRank})");
                dims.Add((int)v);
                SkipWs();
                if (Peek() == ',') { _p++; trailingComma = true; continue; }
                trailingComma = false;
                if (Peek() == ')') { _p++; break; }
                throw Malformed("expected ',' or ')' in 'shape'");
            }
            if (dims.Count == 1 && !trailingComma)
                throw new ParseError(start, $"malformed header: 'shape' ({dims[0]}) is not a tuple; a 1-D shape is written ({dims[0]},)");
            return dims.ToArray();
        }

        private string ParseString()
        {
            int start = _p;
            byte quote = _h[_p++];
            int s0 = _p;
            while (true)
            {
                if (_p >= _h.Length) throw new ParseError(start, "malformed header: unterminated string");
                byte b = _h[_p];
                if (b == quote) break;
                if (b == '\\') throw Malformed("escape sequences in strings are not supported");
                if (b < 0x20 || b >= 0x7F) throw Malformed("non-printable or non-ASCII character in a string");
                _p++;
            }
            string s = Encoding.ASCII.GetString(_h[s0.._p]);
            _p++; // closing quote
            return s;
        }

        private string ParseIdent()
        {
            int s0 = _p;
            while (_p < _h.Length && (char.IsAsciiLetterOrDigit((char)_h[_p]) || _h[_p] == '_')) _p++;
            return Encoding.ASCII.GetString(_h[s0.._p]);
        }

        private void SkipWs()
        {
            while (_p < _h.Length && _h[_p] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\f' or (byte)'\v') _p++;
        }

        private readonly int Peek() => _p < _h.Length ? _h[_p] : -1;

        private void Expect(char c, string what)
        {
            if (Peek() != c) throw Malformed(what);
            _p++;
        }

        private readonly ParseError Malformed(string what) =>
            new(_p, $"malformed header: {what}, found {Describe()}");

        private static ParseError Dup(int pos, string key) => new(pos, $"malformed header: duplicate key '{key}'");

        private readonly string Describe()
        {
            if (_p >= _h.Length) return "end of header";
            byte b = _h[_p];
            return b is >= 0x20 and < 0x7F ? $"'{(char)b}'" : $"byte 0x{b:X2}";
        }

        private static string Printable(string s) => s.Length <= 40 ? s : s[..40] + "...";
    }
}
