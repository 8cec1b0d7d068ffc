using System.Diagnostics;
using EncoderKit.Engine;
using EncoderKit.IO;
using EncoderKit.Tests.IO;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>`encoderkit forward` on every fixture folder, run as a process with no family flag: the family comes from config.json.</summary>
public sealed class ForwardCommandTests
{
    static (int Exit, string Err) Run(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EncoderKit.Cli.dll"));
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), "the command did not finish");
        _ = output.Result;
        return (p.ExitCode, error.Result);
    }

    [Theory]
    [InlineData("nomic_bert"), InlineData("modernbert"), InlineData("llama_enc"), InlineData("retrieva_bert")]
    public void ForwardWritesTheReferenceOutputs(string name)
    {
        using var fixture = new Fixture(name);
        using var folder = new TempFolder();
        string output = folder.File("out.safetensors");
        var (exit, stderr) = Run("forward", "--model", fixture.Folder, "--inputs", Path.Combine(fixture.Folder, "inputs.safetensors"), "--output", output, "--hidden-states");
        Assert.True(exit == 0, stderr);

        using var written = SafetensorsFile.Open(output);
        using var scope = NewDisposeScope();
        Tensor mask = fixture.AttentionMask;
        TensorAssert.Close(TorchTensors.Read(written, "last_hidden_state"), fixture.Expected("last_hidden_state"), 1e-4, mask, "last_hidden_state");
        TensorAssert.Close(TorchTensors.Read(written, "hidden_states.1"), fixture.Expected("hidden_states.1"), 1e-4, mask, "hidden_states.1");
        Tensor logits = TorchTensors.Read(written, "mlm_logits");
        TensorAssert.Close(logits.logsumexp(-1), fixture.Expected("mlm_logits_logsumexp"), 1e-4, mask, "mlm logsumexp");
    }
}
