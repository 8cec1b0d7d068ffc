using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Tests.Modeling;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Cli;

/// <summary>
/// Gradient parity from outside the code: `encoderkit forward --backward` on each fixture's inputs_with_labels writes the
/// loss and every parameter's gradient under the checkpoint's tensor names, and they match the PyTorch reference (loss
/// 1e-4 relative; each gradient as ReferenceGradients states).
/// </summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class ForwardBackwardTests
{
    public static TheoryData<string> FixturesWithGradients => GradientTests.FixturesWithGradients;

    [Theory, MemberData(nameof(FixturesWithGradients))]
    public async Task BackwardWritesTheReferenceLossAndGradients(string name)
    {
        string folder = ReferenceData.Model(name);
        JsonObject reference = ReferenceFixtures.Meta(name)["gradients"]!.AsObject();
        using var scratch = new TempFolder();
        string output = scratch.File("grads.safetensors");
        var result = await CliRunner.RunAsync(["forward", "--model", folder, "--inputs", Path.Combine(folder, reference["inputs"]!.GetValue<string>()), "--output", output, "--backward"]);
        Assert.True(result.Exit == 0, result.Err);

        using var written = SafetensorsFile.Open(output);
        using var grads = SafetensorsFile.Open(Path.Combine(folder, reference["file"]!.GetValue<string>()));
        using var scope = NewDisposeScope();
        Assert.All(written.Tensors, t => Assert.Equal(TensorDtype.F32, t.Dtype));
        double loss = TorchTensors.Read(written, "loss").item<float>(), expectedLoss = reference["loss"]!.GetValue<double>();
        Assert.True(Math.Abs(loss - expectedLoss) <= 1e-4 * Math.Abs(expectedLoss), $"loss {loss} vs reference {expectedLoss}");

        var stored = ReferenceGradients.StoredNames(grads).ToHashSet();
        var ours = written.Tensors.Select(t => t.Name).Where(n => n.StartsWith("grad.", StringComparison.Ordinal)).Select(n => n["grad.".Length..]).ToList();
        Assert.Subset(ours.ToHashSet(), stored);
        foreach (string tensor in ours)
        {
            Tensor gradient = TorchTensors.Read(written, "grad." + tensor);
            if (stored.Contains(tensor)) ReferenceGradients.Compare(grads, reference, tensor, gradient);
            // A parameter outside the loss (an NSP head beside an MLM loss, say) is written as zeros, as the reference omits it.
            else Assert.True(gradient.abs().max().item<float>() == 0, $"{tensor} is outside the reference's loss but has a gradient");
        }
    }

    [Fact]
    public async Task BackwardWithoutLabelsNamesTheLabelsItNeeds()
    {
        string folder = ReferenceData.Model("bert-seqcls");
        using var scratch = new TempFolder();
        var result = await CliRunner.RunAsync(["forward", "--model", folder, "--inputs", Path.Combine(folder, "inputs.safetensors"), "--output", scratch.File("g.safetensors"), "--backward"]);
        Assert.NotEqual(0, result.Exit);
        Assert.Contains("labels", result.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(scratch.File("g.safetensors")));
    }
}
