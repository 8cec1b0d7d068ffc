using System.Diagnostics;

namespace EncoderKit.Bench;

/// <summary>Timing and memory readings shared by the benchmarks.</summary>
static class Measure
{
    /// <summary>Runs <paramref name="action"/> once to warm up, then until both <paramref name="minRuns"/> and <paramref name="minSeconds"/> are reached; returns seconds per run.</summary>
    public static double SecondsPerRun(Action action, int minRuns = 3, double minSeconds = 3)
    {
        action();
        var clock = Stopwatch.StartNew();
        int runs = 0;
        while (runs < minRuns || clock.Elapsed.TotalSeconds < minSeconds)
        {
            action();
            runs++;
        }
        return clock.Elapsed.TotalSeconds / runs;
    }

    /// <summary>Peak resident set size of this process so far (VmHWM), in MiB.</summary>
    public static double PeakRssMiB() => Status("VmHWM:");

    /// <summary>Resident set size of this process now (VmRSS), in MiB.</summary>
    public static double RssMiB() => Status("VmRSS:");

    /// <summary>Starts the peak (VmHWM) afresh from the current RSS, so the next reading is the peak of what follows.</summary>
    public static void ResetPeakRss() => File.WriteAllText("/proc/self/clear_refs", "5");

    static double Status(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        return double.NaN;
    }
}
