using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using EncoderKit.Compute;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Compute;

public sealed class MklCpuDispatchTests
{
    [Theory]
    [InlineData(-7)]
    [InlineData(42)]
    public void TheBuiltLibraryLoadsAndItsFunctionReturnsTheConstant(int value)
    {
        // A name of the test's own, loaded privately: the process's global scope (where MKL looks) is left alone.
        byte[] library = ConstantFunctionLibrary.Build("encoderkit_test_constant", value);
        nint handle = MklCpuDispatch.LoadFromMemory(library, global: false);
        Assert.True(NativeLibrary.TryGetExport(handle, "encoderkit_test_constant", out nint function));
        Assert.Equal(value, MklCpuDispatch.CallInt(function));
        Assert.False(NativeLibrary.TryGetExport(handle, "encoderkit_test_other", out _));
    }

    [Fact]
    public void BytesThatAreNoLibraryAreRefusedWithTheLoadersReason()
    {
        // What the module initializer turns into VendorCheck = Failed (and a warning at model load) instead of a crash.
        var e = Assert.Throws<InvalidOperationException>(() => MklCpuDispatch.LoadFromMemory(new byte[256], global: false));
        Assert.Contains("dlopen of the in-memory library failed", e.Message);
        Assert.Contains("invalid ELF header", e.Message);   // glibc's words, kept from dlerror
    }

    [Theory]
    [InlineData(true, "AuthenticAMD", null, MklVendorCheck.Bypassed)]
    [InlineData(true, "HygonGenuine", "1", MklVendorCheck.Bypassed)]
    [InlineData(true, "AuthenticAMD", "0", MklVendorCheck.Disabled)]
    [InlineData(true, "AuthenticAMD", " 0 ", MklVendorCheck.Disabled)]
    [InlineData(true, "GenuineIntel", null, MklVendorCheck.NotNeeded)]   // MKL already dispatches by features there
    [InlineData(false, "AuthenticAMD", null, MklVendorCheck.NotNeeded)]  // not x86-64 Linux: no global symbol scope to use
    public void OnlyNonIntelX64LinuxIsBypassedAndTheSettingTurnsItOff(bool linuxX64, string vendor, string? setting, MklVendorCheck expected) =>
        Assert.Equal(expected, MklCpuDispatch.Plan(linuxX64, vendor, setting));

    [Fact]
    public void MklRunsTheKernelsOfThisCpusFeatures()
    {
        // Without the bypass, MKL on an AMD CPU reports its automatic branch as AUTO (2, the generic path) whatever the
        // CPU supports; with it, AVX2 (10) or an AVX-512 branch (12, 14), as on an Intel CPU with the same features.
        Assert.True(OperatingSystem.IsLinux() && Avx2.IsSupported, "this test needs x86-64 Linux with AVX2, as CI has");
        Assert.NotEqual(MklVendorCheck.Failed, MklCpuDispatch.VendorCheck);
        using (var product = matmul(ones(64, 64), ones(64, 64))) Assert.Equal(64f, product[0, 0].item<float>());
        int? branch = MklCpuDispatch.AutoBranch();
        Assert.NotNull(branch);
        Assert.True(branch >= 10, $"MKL runs branch {branch} ({MklCpuDispatch.KernelBranch()}) on a CPU with AVX2; vendor check {MklCpuDispatch.VendorCheck}");
        if (Avx512F.IsSupported) Assert.Contains("AVX-512", MklCpuDispatch.KernelBranch());
    }
}
