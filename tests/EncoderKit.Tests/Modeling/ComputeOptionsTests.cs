using EncoderKit.Engine;
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
