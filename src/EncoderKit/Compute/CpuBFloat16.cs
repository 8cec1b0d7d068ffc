namespace EncoderKit.Compute;

/// <summary>
/// Whether this CPU computes bfloat16 natively (x86 AVX512_BF16 or AMX-BF16, Arm BF16). Without it libtorch emulates
/// bf16 matrix products at a small fraction of fp32's speed (measured 0.1–0.6 GFLOP/s against 20+ on AVX2 machines),
/// so bf16 pays on CPU only where this is true.
/// </summary>
public static class CpuBFloat16
{
    /// <summary>True or false when the CPU's features are known (Linux /proc/cpuinfo), null elsewhere.</summary>
    public static bool? IsNative { get; } = Detect();

    /// <summary>A few words for benchmark headers: "native (avx512_bf16)", "emulated (no AVX512_BF16 / AMX)" or "unknown".</summary>
    public static string Description { get; } = Describe(ReadCpuInfo());

    static bool? Detect() => FromCpuInfo(ReadCpuInfo());

    static string? ReadCpuInfo()
    {
        try
        {
            return OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Reads the first "flags" (x86) or "Features" (Arm) line of /proc/cpuinfo.</summary>
    internal static bool? FromCpuInfo(string? cpuinfo) => NativeFlag(cpuinfo) is { } flag ? flag.Length > 0 : null;

    static string? NativeFlag(string? cpuinfo)
    {
        if (cpuinfo is null) return null;
        foreach (string line in cpuinfo.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            string key = line[..colon].Trim();
            if (key is not ("flags" or "Features")) continue;
            string[] flags = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return new[] { "avx512_bf16", "amx_bf16", "bf16" }.FirstOrDefault(flags.Contains) ?? "";
        }
        return null;
    }

    internal static string Describe(string? cpuinfo) => NativeFlag(cpuinfo) switch
    {
        null => "unknown",
        "" => "emulated (no AVX512_BF16 / AMX / Arm BF16)",
        var flag => $"native ({flag})",
    };
}
