using System.Device.I2c;
using System.Globalization;

namespace EdgeMixedAccum.Runtime.Loop;

public enum SourceKind { I2cMpu6050, SimMpu6050, Replay, Stdin }

/// <summary>
/// A parsed <c>--source</c> value: <c>i2c:mpu6050?bus=1&amp;addr=0x68&amp;accel=4&amp;gyro=500</c>,
/// <c>sim:mpu6050</c> (same parameters, simulated device), <c>replay:FILE.csv</c> or <c>stdin</c>.
/// </summary>
public sealed record SourceSpec(SourceKind Kind, string? Path = null, int Bus = 1, int Address = Mpu6050.DefaultAddress,
    AccelRange AccelRange = AccelRange.G2, GyroRange GyroRange = GyroRange.Dps250, int NackEvery = 0)
{
    public const string Usage =
        "i2c:mpu6050[?bus=N&addr=0x68|0x69&accel=2|4|8|16&gyro=250|500|1000|2000], sim:mpu6050[?same&nack-every=N], replay:FILE.csv, stdin";

    public static SourceSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text == "stdin" || text == "-") return new SourceSpec(SourceKind.Stdin);
        int colon = text.IndexOf(':');
        if (colon < 0) throw Bad(text, "no scheme");
        string scheme = text[..colon], rest = text[(colon + 1)..];
        switch (scheme)
        {
            case "replay":
                if (rest.Length == 0) throw Bad(text, "replay needs a file path");
                return new SourceSpec(SourceKind.Replay, Path: rest);
            case "i2c":
            case "sim":
                return ParseDevice(text, scheme == "i2c" ? SourceKind.I2cMpu6050 : SourceKind.SimMpu6050, rest);
            default:
                throw Bad(text, $"unknown scheme '{scheme}'");
        }
    }

    private static SourceSpec ParseDevice(string text, SourceKind kind, string rest)
    {
        int q = rest.IndexOf('?');
        string device = q < 0 ? rest : rest[..q];
        if (device != "mpu6050") throw Bad(text, $"unknown device '{device}' (supported: mpu6050)");
        var spec = new SourceSpec(kind);
        if (q < 0 || q == rest.Length - 1) return spec;
        foreach (string pair in rest[(q + 1)..].Split('&'))
        {
            int eq = pair.IndexOf('=');
            if (eq <= 0) throw Bad(text, $"parameter '{pair}' is not key=value");
            string key = pair[..eq], value = pair[(eq + 1)..];
            spec = key switch
            {
                "bus" => spec with { Bus = ParseInt(text, key, value, 0, 255) },
                "addr" => spec with { Address = ParseAddress(text, value) },
                "accel" => spec with { AccelRange = ParseAccel(text, value) },
                "gyro" => spec with { GyroRange = ParseGyro(text, value) },
                "nack-every" when kind == SourceKind.SimMpu6050 => spec with { NackEvery = ParseInt(text, key, value, 2, 1_000_000) },
                _ => throw Bad(text, $"unknown parameter '{key}' (known: bus, addr, accel, gyro{(kind == SourceKind.SimMpu6050 ? ", nack-every" : "")})"),
            };
        }
        return spec;
    }

    /// <summary>
    /// Opens the source. <paramref name="stdin"/> defaults to Console.In; <paramref name="clock"/> timestamps
    /// device samples and paces I2C retries.
    /// </summary>
    public ISampleSource Open(TextReader? stdin = null, ILoopClock? clock = null, I2cRetryPolicy? retry = null) => Kind switch
    {
        SourceKind.Replay => new ReplaySource(Path!),
        SourceKind.Stdin => new StdinSource(stdin ?? Console.In),
        SourceKind.I2cMpu6050 => OpenDevice(I2cDevice.Create(new I2cConnectionSettings(Bus, Address)), clock, retry),
        SourceKind.SimMpu6050 => OpenDevice(new SimulatedMpu6050(Bus, Address) { NackEvery = NackEvery }, clock, retry),
        _ => throw new InvalidOperationException($"unhandled source kind {Kind}"),
    };

    private I2cMpu6050Source OpenDevice(I2cDevice bus, ILoopClock? clock, I2cRetryPolicy? retry)
    {
        var device = new Mpu6050(bus, AccelRange, GyroRange);
        try { return new I2cMpu6050Source(device, clock, retry); }
        catch
        {
            device.Dispose(); // a failed Initialize must not leak the bus handle
            throw;
        }
    }

    private static int ParseInt(string text, string key, string value, int min, int max)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
            throw Bad(text, $"{key}={value} is not an integer in [{min}, {max}]");
        return v;
    }

    private static int ParseAddress(string text, string value)
    {
        bool ok = value.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.TryParse(value.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int v)
            : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out v);
        if (!ok || v < 0x08 || v > 0x77) throw Bad(text, $"addr={value} is not a 7-bit I2C address (0x08..0x77)");
        return v;
    }

    private static AccelRange ParseAccel(string text, string value) => value switch
    {
        "2" => AccelRange.G2,
        "4" => AccelRange.G4,
        "8" => AccelRange.G8,
        "16" => AccelRange.G16,
        _ => throw Bad(text, $"accel={value}: range must be 2, 4, 8 or 16 (g)"),
    };

    private static GyroRange ParseGyro(string text, string value) => value switch
    {
        "250" => GyroRange.Dps250,
        "500" => GyroRange.Dps500,
        "1000" => GyroRange.Dps1000,
        "2000" => GyroRange.Dps2000,
        _ => throw Bad(text, $"gyro={value}: range must be 250, 500, 1000 or 2000 (deg/s)"),
    };

    private static FormatException Bad(string text, string why) =>
        new($"source '{text}': {why}; expected one of {Usage}");
}
