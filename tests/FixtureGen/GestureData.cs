namespace FixtureGen;

/// <summary>
/// Synthetic accelerometer windows for a 4-class gesture detector: 32 samples x 3 axes at 50 Hz,
/// flattened time-major ([t0 ax, t0 ay, t0 az, t1 ax, ...]), in m/s^2. Classes: idle (gravity and
/// noise), shake (4-6 Hz along x), wave (1-2 Hz along y), circle (x and y in quadrature). Amplitude,
/// frequency, phase, tilt and noise are drawn per window, so the classes overlap a little.
/// </summary>
public static class GestureData
{
    public const int Window = 32, Axes = 3, Features = Window * Axes, Classes = 4;
    public const double RateHz = 50;
    public static readonly string[] Labels = ["idle", "shake", "wave", "circle"];

    public static (float[] X, long[] Y) Generate(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count * Features];
        var y = new long[count];
        for (int n = 0; n < count; n++)
        {
            int c = n % Classes;
            y[n] = c;
            double amp = c switch { 0 => 0.0, 1 => 2 + 3 * rng.NextDouble(), 2 => 1.5 + 2 * rng.NextDouble(), _ => 1 + 2 * rng.NextDouble() };
            double freq = c switch { 1 => 4 + 2 * rng.NextDouble(), 2 => 1 + rng.NextDouble(), 3 => 1 + rng.NextDouble(), _ => 0 };
            double phase = 2 * Math.PI * rng.NextDouble();
            double tilt = 0.3 * (rng.NextDouble() - 0.5);
            double noise = 0.2 + 0.4 * rng.NextDouble();
            for (int t = 0; t < Window; t++)
            {
                double w = 2 * Math.PI * freq * t / RateHz + phase;
                double ax = c switch { 1 => amp * Math.Sin(w), 3 => amp * Math.Cos(w), _ => 0 };
                double ay = c switch { 2 => amp * Math.Sin(w), 3 => amp * Math.Sin(w), _ => 0 };
                double az = 9.81 * Math.Cos(tilt);
                ax += 9.81 * Math.Sin(tilt);
                int i = n * Features + t * Axes;
                x[i] = (float)(ax + noise * Gauss(rng));
                x[i + 1] = (float)(ay + noise * Gauss(rng));
                x[i + 2] = (float)(az + noise * Gauss(rng));
            }
        }
        return (x, y);
    }

    private static double Gauss(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
