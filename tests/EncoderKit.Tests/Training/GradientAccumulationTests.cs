using EncoderKit.Modeling;
using EncoderKit.Training;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Training;

/// <summary>
/// Two micro-batches of 2 rows accumulate the gradients of one batch of 4, on the bert fixture in eval mode (no
/// dropout) with an MLM loss over every position (so each half holds the same number of labelled tokens and the mean
/// of the halves' means is the batch mean). Tolerance per tensor 1e-5 × its largest gradient: the sums run in another
/// order in float32; a missing 1/N doubles every gradient.
/// </summary>
public sealed class GradientAccumulationTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void TwoMicroBatchesOfTwoEqualOneBatchOfFour()
    {
        using var model = EncoderModel.Load(ReferenceData.Model("bert"));
        model.Network.eval();
        using var scope = NewDisposeScope();
        using var generator = new Generator(7);
        Tensor ids = randint(1, model.Spec.Embeddings.VocabSize, [4, 12], generator: generator);

        Tensor Loss(Tensor rows)
        {
            using EncoderOutputs outputs = model.Network.Forward(rows, null, null, Outputs.MlmLogits);
            Tensor logits = outputs.MlmLogits!;
            return nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), rows.view(-1));
        }
        // The pooler and NSP head take no part in the MLM loss and get no gradient.
        Dictionary<string, Tensor> Gradients() =>
            model.Network.named_parameters().Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        void Clear()
        {
            foreach (var (_, parameter) in model.Network.named_parameters()) parameter.grad = null;
        }

        Dictionary<string, Tensor> whole, accumulated;
        using (enable_grad())
        {
            var single = new GradientAccumulation(1);
            Assert.True(single.Backward(Loss(ids)));
            whole = Gradients();
            Clear();
            var accumulation = new GradientAccumulation(2);
            Assert.False(accumulation.Backward(Loss(ids[..2])));
            Assert.Equal(1, accumulation.Pending);
            Assert.True(accumulation.Backward(Loss(ids[2..])));
            Assert.Equal(0, accumulation.Pending);
            accumulated = Gradients();
            Clear();
        }
        Assert.True(whole.Count > 10, $"only {whole.Count} gradients");
        Assert.Equal(whole.Keys.Order(), accumulated.Keys.Order());
        double worst = 0;
        foreach (var (name, expected) in whole)
        {
            double scale = expected.abs().max().item<float>();
            TensorAssert.Close(accumulated[name], expected, 1e-5 * scale, what: name);
            worst = Math.Max(worst, TensorAssert.MaxAbsDiff(accumulated[name], expected) / scale);
        }
        output.WriteLine($"largest deviation: {worst:E2} of a tensor's largest gradient");
    }
}
