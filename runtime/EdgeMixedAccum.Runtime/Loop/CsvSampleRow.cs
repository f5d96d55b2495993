using System.Globalization;

namespace EdgeMixedAccum.Runtime.Loop;

/// <summary>Parses "timestamp,ch0,ch1,..." rows shared by the replay and stdin sources.</summary>
internal static class CsvSampleRow
{
    public static int CountColumns(ReadOnlySpan<char> line) => line.Count(',') + 1;

    /// <summary>True when the first field is not a number, i.e. the row is a header.</summary>
    public static bool IsHeader(ReadOnlySpan<char> line)
    {
        int comma = line.IndexOf(',');
        var first = (comma < 0 ? line : line[..comma]).Trim();
        return !double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
    }

    /// <summary>Parses one row; on failure returns a message (without the file/line prefix).</summary>
    public static string? TryParse(ReadOnlySpan<char> line, Span<float> sample, out double timestamp)
    {
        timestamp = 0;
        int expected = sample.Length + 1;
        int got = CountColumns(line);
        if (got != expected)
            return $"expected {expected} columns (timestamp + {sample.Length} channels), got {got}";
        int column = 0;
        foreach (Range r in line.Split(','))
        {
            var field = line[r].Trim();
            if (!double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
                return $"column {column + 1} ('{field.ToString()}') is not a finite number";
            if (column == 0) timestamp = v;
            else sample[column - 1] = (float)v;
            column++;
        }
        return null;
    }
}
