using System.Runtime.InteropServices;
using System.Text;
using EdgeMixedAccum.Native;
using EdgeMixedAccum.Runtime.Engine;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Runtime.Tests.Native;

/// <summary>The C ABI exports (runtime/ema.h) called in-process through unmanaged function pointers, as C
/// calls them: results equal to a Session's, error codes and messages, no allocation in steady state.
/// (tests/native/run-c-example.sh checks the published libema.so from C, on x64 and arm64 under qemu.)</summary>
public unsafe class CAbiTests
{
    private static readonly string Model = Path.Combine(TestPaths.Fixtures, "fmnist-mlp-tanh.ema");

    private static nint Load(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        delegate* unmanaged<byte*, nint> load = &Exports.Load;
        fixed (byte* p = bytes) return load(p);
    }

    private static string LastError()
    {
        delegate* unmanaged<byte*> f = &Exports.LastError;
        return Marshal.PtrToStringUTF8((nint)f())!;
    }

    private static float[] Input(int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = 0.5f + 0.5f * MathF.Sin(0.1f * i);
        return x;
    }

    [Fact]
    public void Run_matches_a_session_and_reports_its_fraction()
    {
        delegate* unmanaged<nint, int> inSize = &Exports.InputSize, outSize = &Exports.OutputSize;
        delegate* unmanaged<nint, float*, float*, int> run = &Exports.Run;
        delegate* unmanaged<nint, double*, double*, int> report = &Exports.LastReport;
        delegate* unmanaged<nint, void> free = &Exports.Free;
        using var s = Session.Load(Model);
        nint m = Load(Model);
        Assert.NotEqual(0, m);
        try
        {
            Assert.Equal(s.InputLength, inSize(m));
            Assert.Equal(s.OutputLength, outSize(m));
            var x = Input(s.InputLength);
            var expected = new float[s.OutputLength];
            s.Run(x, expected);
            var y = new float[s.OutputLength];
            double frac = -1, bound = -1;
            fixed (float* px = x) fixed (float* py = y)
            {
                Assert.Equal(0, run(m, px, py));
                Assert.Equal(0, report(m, &frac, &bound));
            }
            Assert.Equal(expected, y);
            Assert.Equal(s.LastReport.RecomputeFraction, frac);
            Assert.Equal(s.LastReport.Layers.Max(l => l.MaxPredictedRelError), bound);
            Assert.InRange(frac, 0, 1);
        }
        finally { free(m); }
    }

    [Fact]
    public void Steady_state_run_and_report_allocate_nothing()
    {
        delegate* unmanaged<nint, float*, float*, int> run = &Exports.Run;
        delegate* unmanaged<nint, double*, double*, int> report = &Exports.LastReport;
        delegate* unmanaged<nint, void> free = &Exports.Free;
        nint m = Load(Model);
        try
        {
            var x = Input(784);
            var y = new float[10];
            fixed (float* px = x) fixed (float* py = y)
            {
                double a, b;
                for (int i = 0; i < 5; i++) { run(m, px, py); report(m, &a, &b); }
                int rc = 0;
                nint xp = (nint)px, yp = (nint)py; // fixed locals cannot be captured
                var (allocated, _) = SteadyStateAllocation.Least(() =>
                {
                    double fraction, bound;
                    for (int i = 0; i < 100; i++) { rc |= run(m, (float*)xp, (float*)yp); rc |= report(m, &fraction, &bound); }
                });
                Assert.Equal(0, rc);
                Assert.True(allocated == 0, $"{allocated} bytes allocated in 100 ema_run + ema_last_report calls");
            }
        }
        finally { free(m); }
    }

    [Fact]
    public void Errors_become_codes_and_messages()
    {
        delegate* unmanaged<nint, int> inSize = &Exports.InputSize;
        delegate* unmanaged<nint, float*, float*, int> run = &Exports.Run;
        delegate* unmanaged<nint, double*, double*, int> report = &Exports.LastReport;
        delegate* unmanaged<byte*, nint> load = &Exports.Load;
        delegate* unmanaged<nint, void> free = &Exports.Free;

        Assert.Equal(0, Load("/nonexistent/model.ema"));
        Assert.Contains("/nonexistent/model.ema", LastError());
        Assert.Equal(0, Load(Path.Combine(TestPaths.Fixtures, "fmnist-x.npy"))); // not a .ema file
        Assert.NotEmpty(LastError());
        Assert.Equal(0, load(null));
        Assert.Contains("NULL", LastError());
        Assert.True(inSize(0) < 0);
        Assert.Equal(1, report(0, null, null));
        free(0); // ignored

        nint m = Load(Model);
        try
        {
            var x = Input(784);
            var y = new float[10];
            fixed (float* px = x) fixed (float* py = y)
            {
                Assert.Equal(1, run(0, px, py));
                Assert.Equal(1, run(m, null, py));
                Assert.Equal("ema_run: input is NULL", LastError());
                Assert.Equal(1, run(m, px, null));
                x[3] = float.NaN;
                Assert.Equal(2, run(m, px, py));
                Assert.Contains("NaN", LastError());
                x[3] = 0;
                Assert.Equal(0, run(m, px, py));
                Assert.Equal(0, report(m, null, null));
            }
        }
        finally { free(m); }
    }
}
