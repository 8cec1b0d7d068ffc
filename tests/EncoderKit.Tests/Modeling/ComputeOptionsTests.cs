using EncoderKit.Compute;
using EncoderKit.Tests.Cli;

namespace EncoderKit.Tests.Modeling;

public sealed class ComputeOptionsTests
{
    [Theory]
    [InlineData("cuda", "CUDA")]      // this build of libtorch has no CUDA
    [InlineData("tpu", "unknown device")]
    public void AnUnavailableOrUnknownDeviceIsATypedError(string device, string expected)
    {
        var e = Assert.Throws<EncoderKitException>(() => EncoderModel.Load(ReferenceData.Model("bert"), new ComputeOptions { Device = device }));
        Assert.Equal(ErrorKind.BadInput, e.Kind);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ZeroThreadsIsATypedError()
    {
        var e = Assert.Throws<EncoderKitException>(() => EncoderModel.Load(ReferenceData.Model("bert"), new ComputeOptions { Threads = 0 }));
        Assert.Contains("thread", e.Message);
    }

    [Fact]
    public async Task AnUnknownDtypeOnTheCommandLineIsOneLine()
    {
        var result = await CliRunner.RunAsync(["forward", "--model", ReferenceData.Model("bert"), "--dtype", "fp8",
            "--inputs", Path.Combine(ReferenceData.Model("bert"), "inputs.safetensors"), "--output", Path.Combine(Path.GetTempPath(), "unused.safetensors")]);
        Assert.Contains("fp8", result.AssertOneLineError());
    }
}

/// <summary>bf16 on a CPU that emulates it, and more threads than cores: each one warning, with what it costs.</summary>
public sealed class ComputeWarningTests
{
    [Theory]
    [InlineData("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_tile\n", true)]
    [InlineData("flags\t\t: fpu sse2 avx2 fma amx_bf16\n", true)]
    [InlineData("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma avx512f avx512_vnni\n\nprocessor\t: 1\n", false)]
    [InlineData("processor\t: 0\nFeatures\t: fp asimd evtstrm aes bf16 i8mm\n", true)]
    [InlineData("processor\t: 0\nFeatures\t: fp asimd evtstrm aes\n", false)]
    [InlineData("processor\t: 0\n", null)]
    public void CpuInfoFlagsSayWhetherBFloat16IsNative(string cpuinfo, bool? native)
    {
        Assert.Equal(native, CpuBFloat16.FromCpuInfo(cpuinfo));
        Assert.StartsWith(native switch { true => "native", false => "emulated", null => "unknown" }, CpuBFloat16.Describe(cpuinfo));
    }

    [Theory]
    [InlineData(ComputeDtype.BFloat16, false, 1)]
    [InlineData(ComputeDtype.BFloat16, true, 0)]
    [InlineData(ComputeDtype.BFloat16, null, 0)]
    [InlineData(ComputeDtype.Float32, false, 0)]
    public void BFloat16OnACpuThatEmulatesItWarnsOnce(ComputeDtype dtype, bool? native, int warnings)
    {
        var log = new Embeddings.ListLogger();
        var options = new ComputeOptions { Dtype = dtype, Logger = log };
        var resolved = options.ResolveDtype(options.ResolveDevice(), native);
        Assert.Equal(dtype == ComputeDtype.BFloat16 ? TorchSharp.torch.ScalarType.BFloat16 : TorchSharp.torch.ScalarType.Float32, resolved);
        Assert.Equal(warnings, log.Entries.Count(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning));
        if (warnings > 0) Assert.Contains("10-100x slower than in fp32", log.Entries[0].Message);
    }

    [Fact]
    public void ThreadsAboveTheCoreCountAreCappedWithAWarning()
    {
        var log = new Embeddings.ListLogger();
        int cores = Environment.ProcessorCount;
        new ComputeOptions { Threads = cores + 1000, Logger = log }.ApplyToProcess();
        Assert.Equal(cores, TorchSharp.torch.get_num_threads());
        var warning = Assert.Single(log.Entries);
        Assert.Contains($"{cores + 1000} threads", warning.Message);
        Assert.Contains($"{cores} cores", warning.Message);
    }

    [Fact]
    public async Task TheCommandLineWarnsAboutThreadsOnOneLine()
    {
        int cores = Environment.ProcessorCount;
        string output = Path.Combine(Path.GetTempPath(), $"encoderkit-threads-{Guid.NewGuid():N}.safetensors");
        var result = await CliRunner.RunAsync(["forward", "--model", ReferenceData.Model("bert"), "--threads", "1000",
            "--inputs", Path.Combine(ReferenceData.Model("bert"), "inputs.safetensors"), "--output", output]);
        File.Delete(output);
        Assert.Equal(0, result.Exit);
        Assert.Equal($"encoderkit: warning: 1000 threads asked for, but this machine has {cores} cores: using {cores}", result.Err.Trim());
    }
}
