using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Microsoft.Win32.SafeHandles;

namespace EncoderKit.Compute;

/// <summary>What EncoderKit did, when it loaded, about MKL choosing its kernels by CPU vendor.</summary>
public enum MklVendorCheck
{
    /// <summary>Nothing to do: not x86-64 Linux, or an Intel CPU (MKL already picks its kernels by the CPU's features).</summary>
    NotNeeded,
    /// <summary>Turned off with <c>ENCODERKIT_MKL_FEATURE_DISPATCH=0</c>.</summary>
    Disabled,
    /// <summary>MKL picks its kernels by this CPU's features (AVX2, AVX-512), as it does on Intel CPUs.</summary>
    Bypassed,
    /// <summary>It could not be done (<see cref="MklCpuDispatch.FailureReason"/>): MKL runs its generic kernels.</summary>
    Failed,
}

/// <summary>
/// The Intel MKL inside libtorch, which computes every float32 matrix product on x86, chooses its kernels by asking
/// <c>mkl_serv_intel_cpu_true()</c> before it looks at the CPU's features: on AMD (and other non-Intel) CPUs the answer
/// is no, and it runs a generic path whatever the CPU supports. Measured on a 2-core AMD EPYC with AVX-512: MKL's
/// automatic branch is "AUTO" instead of "AVX512_E1", and the model's projection GEMMs run at 137 GFLOP/s against
/// OpenBLAS's 192; answered yes, MKL takes its AVX-512 kernels and reaches 187. Neither <c>MKL_CBWR</c> nor
/// <c>MKL_ENABLE_INSTRUCTIONS</c> changes this on non-Intel CPUs (both tried).
/// <para>
/// So when EncoderKit loads on x86-64 Linux with a non-Intel CPU, before any of its code touches libtorch, it loads a
/// library of one function, <c>mkl_serv_intel_cpu_true</c> returning 1, into the process's global symbol scope.
/// libtorch exports MKL's own function and calls it through its procedure linkage table, so the dynamic loader binds
/// the call to the first definition in the global scope: this one. MKL then picks its kernels by the CPU's real
/// features (cpuid), as on Intel CPUs, so a CPU without AVX-512 gets the AVX2 kernels, never instructions it lacks.
/// The library is built in memory (<see cref="ConstantFunctionLibrary"/>) and loaded from a memfd: nothing is written
/// to disk, and no C compiler is needed.
/// </para>
/// <para>Set <c>ENCODERKIT_MKL_FEATURE_DISPATCH=0</c> to leave MKL as shipped.</para>
/// </summary>
public static partial class MklCpuDispatch
{
    /// <summary>The environment variable that, set to 0, leaves MKL's vendor check alone.</summary>
    public const string SettingVariable = "ENCODERKIT_MKL_FEATURE_DISPATCH";

    const string VendorCheckFunction = "mkl_serv_intel_cpu_true";
    const int RtldLazy = 0x1, RtldNow = 0x2, RtldNoLoad = 0x4, RtldGlobal = 0x100;
    const uint MfdCloexec = 1;

    /// <summary>What was done when EncoderKit loaded.</summary>
    public static MklVendorCheck VendorCheck { get; private set; }

    /// <summary>Why <see cref="VendorCheck"/> is <see cref="MklVendorCheck.Failed"/>; null otherwise.</summary>
    public static string? FailureReason { get; private set; }

    // Runs before any type of this assembly is used, so before any of its code can load libtorch. libtorch binds MKL's
    // functions lazily, so even a libtorch loaded earlier (by code outside EncoderKit) takes this definition, as long
    // as no matrix product has run yet.
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "Must run before the first use of libtorch, which any EncoderKit type may trigger.")]
    internal static void ApplyOnLoad()
    {
        VendorCheck = Plan(OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64,
            CpuVendor(), Environment.GetEnvironmentVariable(SettingVariable));
        if (VendorCheck != MklVendorCheck.Bypassed) return;
        try
        {
            // Never closed: the definition must stay for the life of the process.
            LoadFromMemory(ConstantFunctionLibrary.Build(VendorCheckFunction, 1), global: true);
        }
        // A module initializer that throws makes every type of the assembly unusable; a slower GEMM is the better failure.
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or DllNotFoundException
            or EntryPointNotFoundException or InvalidOperationException)
        {
            VendorCheck = MklVendorCheck.Failed;
            FailureReason = e.Message;
        }
    }

    /// <summary>What to do on this system: <see cref="MklVendorCheck.Bypassed"/> means "bypass it".</summary>
    internal static MklVendorCheck Plan(bool linuxX64, string cpuVendor, string? setting) =>
        !linuxX64 || cpuVendor == "GenuineIntel" ? MklVendorCheck.NotNeeded
        : setting?.Trim() == "0" ? MklVendorCheck.Disabled
        : MklVendorCheck.Bypassed;

    /// <summary>
    /// The instruction set MKL chose for its kernels, in a few words for logs and benchmark headers ("AVX-512 with
    /// VNNI", "AVX2", "generic, non-Intel CPU"), or why it is not known ("libtorch not loaded", "no MKL in libtorch").
    /// </summary>
    public static string KernelBranch() => OperatingSystem.IsLinux() ? AutoBranch() switch
    {
        null => LibtorchLoaded() ? "no MKL in libtorch" : "libtorch not loaded",
        2 => "generic, non-Intel CPU",
        3 => "compatible (SSE2)",
        4 => "SSE2",
        6 => "SSSE3",
        7 => "SSE4.1",
        8 => "SSE4.2",
        9 => "AVX",
        10 or 11 or 13 => "AVX2",
        12 => "AVX-512",
        14 => "AVX-512 with VNNI",
        { } other => $"MKL branch {other}",
    } : "unknown (not Linux)";

    /// <summary>MKL's automatic conditional-numerical-reproducibility branch: the kernels it runs (MKL_CBWR_* values).</summary>
    internal static int? AutoBranch()
    {
        nint libtorch = Dl.Open("libtorch_cpu.so", RtldLazy | RtldNoLoad);
        if (libtorch == 0) return null;
        try
        {
            // mkl_cbwr_get_auto_branch is not exported from libtorch; this is the service function behind it.
            nint function = Dl.Symbol(libtorch, "mkl_serv_cbwr_get_auto_branch");
            return function == 0 ? null : CallInt(function);
        }
        finally
        {
            Dl.Close(libtorch);
        }
    }

    static bool LibtorchLoaded()
    {
        nint libtorch = Dl.Open("libtorch_cpu.so", RtldLazy | RtldNoLoad);
        if (libtorch != 0) Dl.Close(libtorch);
        return libtorch != 0;
    }

    internal static unsafe int CallInt(nint function) => ((delegate* unmanaged<int>)function)();

    /// <summary>
    /// Loads a shared library from its bytes, through a memfd (no file on disk), into the global symbol scope or privately.
    /// The descriptor stays open for the life of the process: the loader knows a library by the path it was opened by,
    /// and were the number reused, loading another library by the same /proc path would return this one.
    /// </summary>
    internal static nint LoadFromMemory(byte[] library, bool global)
    {
        int descriptor = Libc.MemfdCreate("encoderkit-library", MfdCloexec);
        if (descriptor < 0) throw new IOException($"memfd_create failed (errno {Marshal.GetLastPInvokeError()})");
        nint handle = 0;
        try
        {
            RandomAccess.Write(new SafeFileHandle(descriptor, ownsHandle: false), library, 0);
            // Binds dlerror's stub now: binding it after a failed dlopen would call dlsym, which clears the error.
            Dl.LastError();
            handle = Dl.Open($"/proc/self/fd/{descriptor}", RtldNow | (global ? RtldGlobal : 0));
            return handle != 0 ? handle : throw new InvalidOperationException($"dlopen of the in-memory library failed: {Dl.LastError()}");
        }
        finally
        {
            if (handle == 0) Libc.Close(descriptor);
        }
    }

    static string CpuVendor()
    {
        if (!X86Base.IsSupported) return "";
        (_, int ebx, int ecx, int edx) = X86Base.CpuId(0, 0);
        Span<int> vendor = [ebx, edx, ecx];
        return System.Text.Encoding.ASCII.GetString(MemoryMarshal.AsBytes(vendor));
    }

    static partial class Libc
    {
        [LibraryImport("libc.so.6", EntryPoint = "memfd_create", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int MemfdCreate(string name, uint flags);

        [LibraryImport("libc.so.6", EntryPoint = "close")]
        internal static partial int Close(int descriptor);
    }

    // libdl.so.2 rather than libc.so.6: before glibc 2.34 the dl functions live there, and after it still resolves them.
    static partial class Dl
    {
        [LibraryImport("libdl.so.2", EntryPoint = "dlopen", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial nint Open(string file, int mode);

        [LibraryImport("libdl.so.2", EntryPoint = "dlsym", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial nint Symbol(nint handle, string name);

        [LibraryImport("libdl.so.2", EntryPoint = "dlclose")]
        internal static partial int Close(nint handle);

        [LibraryImport("libdl.so.2", EntryPoint = "dlerror")]
        private static partial nint Error();

        internal static string LastError() => Marshal.PtrToStringUTF8(Error()) ?? "no error reported";
    }
}
