using EncoderKit.Compute;
using EncoderKit.Modeling;
using EncoderKit.Modeling.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// Sliding-window attention runs block by block (AttentionMasks); these tests hold it to plain softmax attention
/// with an explicit [L, L] mask, in float64, over inputs many blocks long, with and without padding.
/// </summary>
public sealed class AttentionMasksTests
{
    // Plain attention: softmax(q kᵀ / √d + mask) v, with mask[b, i, j] = key j real and (global or |i - j| <= half), the
    // forbidden keys given float32's finfo.min as transformers does: a query that may see no key at all weighs every key
    // alike (its scores all round to finfo.min, in float64 too), and autograd differentiates that softmax as it is.
    static Tensor Reference(Tensor q, Tensor k, Tensor v, Tensor? attentionMask, long? half)
    {
        long length = q.shape[2];
        Tensor positions = TensorRange.Arange(length, ScalarType.Int64, CPU);
        Tensor allowed = ones(length, length, ScalarType.Bool);
        using Scalar reach = (half ?? length).ToScalar(), lowest = float.MinValue.ToScalar();
        if (half is not null) allowed = (positions.unsqueeze(1) - positions.unsqueeze(0)).abs().le(reach);
        Tensor mask = allowed.view(1, 1, length, length);
        if (attentionMask is not null) mask = mask & attentionMask.to_type(ScalarType.Bool).view(q.shape[0], 1, 1, length);
        Tensor scores = q.to_type(ScalarType.Float64).matmul(k.to_type(ScalarType.Float64).transpose(-1, -2)) / Math.Sqrt(q.shape[3]);
        Tensor weights = (scores + zeros_like(scores).masked_fill(mask.logical_not(), lowest)).softmax(-1);
        return weights.matmul(v.to_type(ScalarType.Float64));
    }

    [Theory]
    [InlineData(300, 32, false)]    // ten blocks of 32 queries, each against 32 + 2 × 16 keys
    [InlineData(300, 32, true)]
    [InlineData(97, 8, true)]       // last block short; padded queries far from every real key
    [InlineData(20, 128, false)]    // window covers everything: one global pass
    public void LocalLayersSeeExactlyTheirWindow(int length, int window, bool padded)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        Tensor q = randn([2, 3, length, 8], generator: generator), k = randn([2, 3, length, 8], generator: generator), v = randn([2, 3, length, 8], generator: generator);
        Tensor? attentionMask = null;
        if (padded)
        {
            attentionMask = ones(2, length, ScalarType.Int64);
            attentionMask[1].narrow(0, length / 3, length - length / 3).zero_();
        }
        var spec = new AttentionSpec(3, 3, 8, false, false, LocalWindow: window, GlobalEveryNLayers: 2);
        using var masks = AttentionMasks.Build(spec, attentionMask, length, CPU);
        Assert.Equal(length - 1 > window / 2, masks.Windowed);

        Tensor real = attentionMask ?? ones(2, length, ScalarType.Int64);
        TensorAssert.Close(masks.Attend(q, k, v, global: false).transpose(1, 2), Reference(q, k, v, attentionMask, window / 2).transpose(1, 2), 1e-5, real, "local");
        TensorAssert.Close(masks.Attend(q, k, v, global: true).transpose(1, 2), Reference(q, k, v, attentionMask, null).transpose(1, 2), 1e-5, real, "global");
        Assert.False(masks.Attend(q, k, v, global: false).isnan().any().item<bool>(), "no NaN even at padded queries");
        // Padded queries too, as transformers computes them: over the real keys they may see, or over all keys alike.
        TensorAssert.Close(masks.Attend(q, k, v, global: false), Reference(q, k, v, attentionMask, window / 2), 1e-5, what: "local, padded queries included");
    }

    [Fact]
    public void PaddedQueriesPassGradientsAsTransformersDoes()
    {
        // 97 tokens, window 8, the second row two-thirds padding: many padded queries see no real key.
        const int length = 97, window = 8;
        var generator = new Generator(11);
        using var scope = NewDisposeScope();
        Tensor[] Leaves() => [.. Enumerable.Range(0, 3).Select(_ => randn([2, 3, length, 8], ScalarType.Float64, generator: generator))];
        Tensor[] ours = Leaves(), reference = [.. ours.Select(t => t.clone())];
        Tensor upstream = randn([2, 3, length, 8], ScalarType.Float64, generator: generator);
        Tensor attentionMask = ones(2, length, ScalarType.Int64);
        attentionMask[1].narrow(0, length / 3, length - length / 3).zero_();
        var spec = new AttentionSpec(3, 3, 8, false, false, LocalWindow: window, GlobalEveryNLayers: 2);
        using var masks = AttentionMasks.Build(spec, attentionMask, length, CPU);
        using (enable_grad())
        {
            foreach (Tensor t in ours.Concat(reference)) t.requires_grad_(true);
            (masks.Attend(ours[0], ours[1], ours[2], global: false) * upstream).sum().backward();
            (Reference(reference[0], reference[1], reference[2], attentionMask, window / 2) * upstream).sum().backward();
        }
        string[] names = ["q", "k", "v"];
        for (int i = 0; i < 3; i++)
            TensorAssert.Close(ours[i].grad!, reference[i].grad!, 1e-9, what: $"gradient of {names[i]}");
    }
}
