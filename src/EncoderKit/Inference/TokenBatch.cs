using EncoderKit.Tokenization;
using static TorchSharp.torch;

namespace EncoderKit.Inference;

/// <summary>Encodings stacked into right-padded [B, L] int64 tensors: the shape <see cref="EncoderModel.Forward"/> takes.</summary>
public sealed class TokenBatch : IDisposable
{
    TokenBatch(Tensor inputIds, Tensor? attentionMask, Tensor tokenTypeIds)
    {
        InputIds = inputIds;
        AttentionMask = attentionMask;
        TokenTypeIds = tokenTypeIds;
    }

    public Tensor InputIds { get; }

    /// <summary>Null when no row is padded, which lets attention take its unmasked fast path.</summary>
    public Tensor? AttentionMask { get; }

    public Tensor TokenTypeIds { get; }

    public static TokenBatch From(IReadOnlyList<Encoding> encodings, int padTokenId)
    {
        int rows = encodings.Count, length = encodings.Count == 0 ? 0 : encodings.Max(e => e.Length);
        var ids = new long[rows * length];
        var types = new long[rows * length];
        var mask = new long[rows * length];
        bool padded = false;
        for (int r = 0; r < rows; r++)
        {
            Encoding e = encodings[r];
            for (int i = 0; i < length; i++)
            {
                int at = r * length + i;
                bool real = i < e.Length && e.AttentionMask[i] == 1;
                ids[at] = i < e.Length ? e.Ids[i] : padTokenId;
                types[at] = i < e.Length ? e.TypeIds[i] : 0;
                mask[at] = real ? 1 : 0;
                padded |= !real;
            }
        }
        long[] shape = [rows, length];
        return new TokenBatch(tensor(ids, shape), padded ? tensor(mask, shape) : null, tensor(types, shape));
    }

    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask?.Dispose();
        TokenTypeIds.Dispose();
    }
}
