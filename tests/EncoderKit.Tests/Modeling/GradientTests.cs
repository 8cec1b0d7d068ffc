using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Training;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// The network trains: a backward pass through every fixture that loads gives every parameter a finite gradient,
/// and where the fixture holds the reference's gradients (gradients.safetensors, loss as meta.json defines it, dropout
/// off), ours match them. Tolerance as meta.json suggests: loss 1e-4 relative; each tensor 1e-4 × max|reference
/// gradient of that tensor| + 1e-6 absolute. The loss is the library's TaskLoss, chosen by the checkpoint's head as
/// meta.json's loss_definition describes the reference class's. The reference runs eager attention and we run
/// scaled_dot_product_attention, whose fp32 spread is ~1e-5 of the values (meta.json), well inside that; a wrong
/// tensor mapping, a missed tied contribution or a lost residual moves gradients by far more.
/// </summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class GradientTests
{
    public static TheoryData<string> Fixtures => new(ReferenceFixtures.All);

    public static TheoryData<string> FixturesWithGradients => new(ReferenceFixtures.All.Where(n => ReferenceFixtures.Meta(n)["gradients"] is not null));

    [Fact]
    public void InferenceModeTurnsGradModeOff()
    {
        // The blocks add and multiply in place exactly when grad mode is off; EncoderModel.Forward's inference mode
        // must count as off, or inference would lose that memory saving.
        using (inference_mode()) Assert.False(is_grad_enabled());
        using (no_grad()) Assert.False(is_grad_enabled());
        using (enable_grad()) Assert.True(is_grad_enabled());
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void BackwardInTrainingModeGivesEveryParameterAFiniteGradient(string name)
    {
        using var fixture = new Fixture(name);
        using var model = EncoderModel.Load(fixture.Folder);
        model.Network.train();
        using (var scope = NewDisposeScope())
        using (enable_grad())
        {
            using EncoderOutputs outputs = model.Network.Forward(fixture.InputIds, fixture.AttentionMask, fixture.TokenTypeIds, Outputs.AllHeads);
            Tensor loss = outputs.Named().Select(o => o.Value.to_type(ScalarType.Float32).sum()).Aggregate((a, b) => a + b);
            loss.backward();
        }
        foreach (var (parameter, value) in model.Network.named_parameters())
        {
            using Tensor? grad = value.grad;
            Assert.True(grad is not null, $"{name}: {parameter} has no gradient");
            Assert.True(grad.isfinite().all().item<bool>(), $"{name}: {parameter} has a non-finite gradient");
            Assert.True(grad.abs().max().item<float>() > 0, $"{name}: {parameter} has an all-zero gradient");
        }
    }

    [Theory, MemberData(nameof(FixturesWithGradients))]
    public void GradientsMatchReference(string name)
    {
        string folder = ReferenceData.Model(name);
        JsonObject meta = ReferenceFixtures.Meta(name), reference = meta["gradients"]!.AsObject();
        using var model = EncoderModel.Load(folder);
        using var inputs = SafetensorsFile.Open(Path.Combine(folder, reference["inputs"]!.GetValue<string>()));
        using var grads = SafetensorsFile.Open(Path.Combine(folder, reference["file"]!.GetValue<string>()));
        using var weights = SafetensorsFile.Open(Path.Combine(folder, "model.safetensors"));
        model.Network.eval();
        using var scope = NewDisposeScope();

        var labels = reference["labels"]!.AsObject().ToDictionary(l => l.Key, l => TorchTensors.Read(inputs, l.Key));
        Tensor? types = inputs.TryGet("token_type_ids", out _) ? TorchTensors.Read(inputs, "token_type_ids") : null;
        string task = meta["task"]?.GetValue<string>() ?? "";
        float loss;
        using (enable_grad())
        {
            using EncoderOutputs outputs = model.Network.Forward(TorchTensors.Read(inputs, "input_ids"), TorchTensors.Read(inputs, "attention_mask"), types, task switch
            {
                _ when task.StartsWith("sequence-classification", StringComparison.Ordinal) => Outputs.Classifier,
                "token-classification" => Outputs.TokenLogits,
                "question-answering" => Outputs.SpanLogits,
                "multiple-choice" => Outputs.ChoiceLogits,
                _ => Outputs.MlmLogits,
            });
            Tensor lossTensor = TaskLoss.For(model.Spec.Heads, outputs, labels);
            lossTensor.backward();
            loss = lossTensor.item<float>();
        }
        double expectedLoss = reference["loss"]!.GetValue<double>();
        Assert.True(Math.Abs(loss - expectedLoss) <= 1e-4 * Math.Abs(expectedLoss), $"loss {loss} vs reference {expectedLoss}");

        WeightMap map = model.Family.Weights(model.Spec);
        string prefix = new CheckpointNames(weights.Tensors.Select(t => t.Name), model.Family.BasePrefix).PrefixInUse;
        var compared = new List<string>();
        foreach (var (parameter, value) in model.Network.named_parameters())
        {
            Tensor? grad = value.grad;
            if (grad is null) continue;
            foreach (var (external, part) in map.Export(parameter, grad, prefix, model.Spec))
            {
                ReferenceGradients.Compare(grads, reference, external, part);
                compared.Add(external);
            }
        }
        Assert.Equal(ReferenceGradients.StoredNames(grads).Order(StringComparer.Ordinal), compared.Order(StringComparer.Ordinal));
    }
}
