using EncoderKit.Compute;
using EncoderKit.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>
/// Token vectors → sentence vector, computed as sentence-transformers' Pooling module computes it.
/// Shapes: B batch, L length, H hidden; D = modes × H.
/// </summary>
public static class Pooling
{
    /// <param name="tokens">[B, L, H] token embeddings (the encoder's last hidden state).</param>
    /// <param name="attentionMask">[B, L], 1 real / 0 padding.</param>
    /// <param name="promptLength">
    /// With <see cref="PoolingConfig.IncludePrompt"/> false, the first <paramref name="promptLength"/> positions of every row
    /// are masked out before pooling (sentence-transformers counts the prompt alone, with special tokens, minus one).
    /// </param>
    /// <returns>[B, D] in the dtype of <paramref name="tokens"/>.</returns>
    public static Tensor Pool(Tensor tokens, Tensor attentionMask, PoolingConfig config, int promptLength = 0)
    {
        if (tokens.dim() != 3 || tokens.shape[2] != config.WordEmbeddingDimension)
            throw new EncoderKitException(ErrorKind.BadInput,
                $"token embeddings of shape [{string.Join(", ", tokens.shape)}] do not fit pooling over {config.WordEmbeddingDimension} dimensions");
        using var scope = NewDisposeScope();
        long length = tokens.shape[1];
        Tensor mask = attentionMask.to(tokens.device).to_type(tokens.dtype);
        if (!config.IncludePrompt && promptLength > 0)
        {
            mask = mask.clone();
            mask.narrow(1, 0, Math.Min(promptLength, length)).zero_();
        }
        Tensor expanded = mask.unsqueeze(-1);                                  // [B, L, 1]

        // The library sets masked positions to -1e9 in place for max pooling, before the other modes read the same
        // tensor; only the first-token vector can see that (when the prompt is masked out), and it does here too.
        bool max = config.Modes.Contains(PoolingMode.Max);
        using Scalar zero = 0.ToScalar(), masked = (-1e9).ToScalar();
        Tensor seen = max ? tokens.masked_fill(expanded.eq(zero), masked) : tokens;

        var parts = new List<Tensor>(config.Modes.Count);
        foreach (PoolingMode mode in config.Modes)
        {
            switch (mode)
            {
                case PoolingMode.Cls:
                    parts.Add(seen.select(1, 0));
                    break;
                case PoolingMode.Max:
                    parts.Add(seen.max(1).values);
                    break;
                case PoolingMode.Mean:
                    parts.Add(Mean(seen, mask));
                    break;
                case PoolingMode.MeanSqrtLen:
                {
                    // sum / sqrt(count), as mean · sqrt(count).
                    using Scalar least = 1e-9.ToScalar();
                    parts.Add(Mean(seen, mask) * mask.sum(1, keepdim: true).clamp_min(least).sqrt());
                    break;
                }
                case PoolingMode.WeightedMean:
                    parts.Add(Mean(seen, mask * TensorRange.Arange(1, length + 1, tokens.dtype, tokens.device).unsqueeze(0)));   // weight = position + 1
                    break;
                case PoolingMode.LastToken:
                {
                    // Index of the last real position; a row with none gathers position 0 times a zero mask: a zero vector.
                    Tensor index = (TensorRange.Arange(length, ScalarType.Int64, tokens.device).unsqueeze(0) * attentionMaskAfterPrompt(mask)).argmax(1);
                    Tensor gathered = (seen * expanded).gather(1, index.view(-1, 1, 1).expand(-1, 1, tokens.shape[2]));
                    parts.Add(gathered.squeeze(1));
                    break;
                }
            }
        }
        Tensor result = parts.Count == 1 ? parts[0].clone() : cat(parts, 1);
        return result.MoveToOuterDisposeScope();

        static Tensor attentionMaskAfterPrompt(Tensor m)
        {
            using Scalar zero = 0.ToScalar();
            return m.gt(zero).to_type(ScalarType.Int64);
        }
    }

    /// <summary>
    /// The encoder's masked mean with <paramref name="weights"/> [B, L] as the mask. sentence-transformers divides by
    /// max(Σ weights, 1e-9), so a row with nothing left to pool (all of it prompt) is a zero vector, not 0 / 0.
    /// </summary>
    static Tensor Mean(Tensor tokens, Tensor weights)
    {
        using Scalar zero = 0.ToScalar();
        return EncoderNetwork.MeanPool(tokens, weights).masked_fill(weights.sum(1, keepdim: true).eq(zero), zero);
    }

    /// <summary>L2 normalisation as torch.nn.functional.normalize(p=2, dim=1): x / max(‖x‖, 1e-12).</summary>
    public static Tensor Normalize(Tensor embeddings)
    {
        using var scope = NewDisposeScope();
        using Scalar least = 1e-12.ToScalar();
        Tensor norm = embeddings.norm(1, keepdim: true, p: 2).clamp_min(least);
        return (embeddings / norm).MoveToOuterDisposeScope();
    }
}
