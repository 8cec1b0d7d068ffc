using EncoderKit.Compute;
using EncoderKit.IO;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Cli;

/// <summary>`encoderkit forward` on every fixture folder, run through the command line (in-process) with no family flag (the family comes from config.json), compared with the reference outputs (tolerance as in ConformanceTests).</summary>
public sealed class ForwardCommandTests
{
    public static TheoryData<string> Fixtures => Modeling.ConformanceTests.Fixtures;

    [Theory, MemberData(nameof(Fixtures))]
    public async Task ForwardWritesTheReferenceOutputsAsFloat32(string name)
    {
        using var fixture = new Fixture(name);
        using var scratch = new TempFolder();
        string output = scratch.File("out.safetensors");
        var result = await CliRunner.RunAsync(["forward", "--model", fixture.Folder, "--inputs", Path.Combine(fixture.Folder, "inputs.safetensors"), "--output", output, "--hidden-states"]);
        Assert.True(result.Exit == 0, result.Err);

        using var written = SafetensorsFile.Open(output);
        Assert.All(written.Tensors, t => Assert.Equal(TensorDtype.F32, t.Dtype));
        using var scope = NewDisposeScope();
        Tensor mask = fixture.AttentionMask;
        TensorAssert.Close(TorchTensors.Read(written, "last_hidden_state"), fixture.Expected("last_hidden_state"), 1e-4, mask, "last_hidden_state");
        for (int i = 0; fixture.HasExpected($"hidden_states.{i}"); i++)
            TensorAssert.Close(TorchTensors.Read(written, $"hidden_states.{i}"), fixture.Expected($"hidden_states.{i}"), 1e-4, mask, $"hidden_states.{i}");
        // Every head output the fixture stores, under its name (a multiple-choice pooler also runs, and is written though the reference keeps none).
        foreach (string head in Modeling.ConformanceTests.HeadOutputs)
        {
            Assert.Equal(fixture.HasExpected(head), written.TryGet(head, out _) && !(head == "pooler_output" && written.TryGet("choice_logits", out _)));
            if (!fixture.HasExpected(head)) continue;
            Tensor value = TorchTensors.Read(written, head);
            TensorAssert.Close(value, fixture.Expected(head), 1e-4, Modeling.ConformanceTests.PerToken(value, mask), head);
        }
        Assert.Equal(fixture.HasExpected("mlm_positions"), written.TryGet("mlm_logits", out _));
        if (fixture.HasExpected("mlm_positions"))
            TensorAssert.Close(TorchTensors.Read(written, "mlm_logits").logsumexp(-1), fixture.Expected("mlm_logits_logsumexp"), 1e-4, mask, "mlm logsumexp");
    }
}
