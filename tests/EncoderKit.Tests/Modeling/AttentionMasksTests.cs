using EncoderKit.Modeling;
using EncoderKit.Modeling.Blocks;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// Sliding-window attention runs block by block (AttentionMasks); these tests hold it to plain softmax attention
/// with an explicit [L, L] mask, in float64, over inputs many blocks long, with and without padding.
/// </summary>
public sealed class AttentionMasksTests
{
    // Plain attention: softmax(q kᵀ / √d + mask) v, with mask[b, i, j] = key j real and (global or |i - j| <= half); a
    // query that may see no key at all weighs every key alike, as transformers' finfo.min masks make it.
    static Tensor Reference(Tensor q, Tensor k, Tensor v, Tensor? attentionMask, long? half)
    {
        long length = q.shape[2];
        Tensor positions = arange(length, ScalarType.Int64);
        Tensor allowed = ones(length, length, ScalarType.Bool);
        if (half is { } h) allowed = (positions.unsqueeze(1) - positions.unsqueeze(0)).abs() <= h;
        Tensor mask = allowed.view(1, 1, length, length);
        if (attentionMask is not null) mask = mask & attentionMask.to_type(ScalarType.Bool).view(q.shape[0], 1, 1, length);
        Tensor scores = q.to_type(ScalarType.Float64).matmul(k.to_type(ScalarType.Float64).transpose(-1, -2)) / Math.Sqrt(q.shape[3]);
        Tensor blind = mask.logical_not().all(-1, keepdim: true);
        Tensor weights = scores.masked_fill(mask.logical_not(), double.NegativeInfinity).softmax(-1).where(blind.logical_not(), 1.0 / length);
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
            attentionMask[1].narrow(0, length / 3, length - length / 3).fill_(0);
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
}
