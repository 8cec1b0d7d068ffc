using EncoderKit.Compute;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

/// <summary>
/// The real tokens of a right-padded [B, L] batch laid end to end as one [T] stream, so position-wise work (embeddings,
/// projections, MLP, norms, residuals) runs on real tokens only, and attention runs per sequence.
/// </summary>
public sealed class PackedTokens : IDisposable
{
    readonly Tensor indices;   // [T] int64: each real token's flat position in [B × L]

    PackedTokens(Tensor indices, long[] lengths, long batch, long length)
    {
        this.indices = indices;
        Lengths = lengths;
        Starts = new long[lengths.Length];
        for (int b = 1; b < lengths.Length; b++) Starts[b] = Starts[b - 1] + lengths[b - 1];
        Batch = batch;
        Length = length;
        using Scalar rowLength = length.ToScalar();
        Columns = indices.remainder(rowLength);
    }

    /// <summary>Each sequence's real length.</summary>
    public long[] Lengths { get; }

    /// <summary>Where each sequence starts in the stream.</summary>
    public long[] Starts { get; }

    public long Batch { get; }

    /// <summary>The padded length L.</summary>
    public long Length { get; }

    /// <summary>Real tokens T.</summary>
    public long Total => Starts[^1] + Lengths[^1];

    /// <summary>[T] int64: each token's column in the padded batch, its position in its sequence (right padding).</summary>
    public Tensor Columns { get; }

    /// <summary>The share of the padded batch's positions that are padding.</summary>
    public double PaddingShare => 1 - (double)Total / (Batch * Length);

    /// <param name="attentionMask">[B, L], 1 at real tokens.</param>
    /// <returns>Null unless every row is its real tokens followed by padding (no holes, no left padding).</returns>
    public static PackedTokens? FromMask(Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        long batch = attentionMask.shape[0], length = attentionMask.shape[1];
        using Scalar zero = 0.ToScalar();
        Tensor real = attentionMask.ne(zero);
        long[] lengths = real.sum(1).cpu().data<long>().ToArray();
        if (lengths.Any(l => l == 0)) return null;   // a row without real tokens has nothing to attend to
        Tensor prefix = TensorRange.Arange(length, ScalarType.Int64, attentionMask.device).unsqueeze(0)
            .lt(tensor(lengths, ScalarType.Int64).to(attentionMask.device).unsqueeze(1));
        if (!prefix.eq(real).all().item<bool>()) return null;
        Tensor indices = real.flatten().nonzero().flatten();
        var packed = new PackedTokens(indices, lengths, batch, length);
        indices.MoveToOuterDisposeScope();
        packed.Columns.MoveToOuterDisposeScope();
        return packed;
    }

    /// <summary>[B, L, …] → [T, …]: the real positions' rows.</summary>
    public Tensor Pack(Tensor padded)
    {
        using var scope = NewDisposeScope();
        return padded.reshape([Batch * Length, .. padded.shape[2..]]).index_select(0, indices).MoveToOuterDisposeScope();
    }

    /// <summary>[T, …] → [B, L, …], zeros at padding.</summary>
    public Tensor Unpack(Tensor packed)
    {
        using var scope = NewDisposeScope();
        long[] rest = packed.shape[1..];
        Tensor padded = zeros([Batch * Length, .. rest], packed.dtype, packed.device).index_copy_(0, indices, packed);
        return padded.view([Batch, Length, .. rest]).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        indices.Dispose();
        Columns.Dispose();
    }
}
