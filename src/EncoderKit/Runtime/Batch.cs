using static TorchSharp.torch;

namespace EncoderKit.Runtime;

/// <summary>
/// Rows of token ids right-padded to the longest of them: what one forward pass computes. Plain arrays, row-major
/// [<see cref="Count"/>, <see cref="Length"/>], so a batch can be built and read without a model; <see cref="Rows"/>
/// says where each row came from in the request, so results go back in request order.
/// </summary>
public sealed class Batch
{
    /// <param name="inputs">The request's rows.</param>
    /// <param name="rows">Which of them this batch holds, in batch order.</param>
    /// <param name="padId">The id padding positions carry (masked out, so only its range matters).</param>
    public Batch(IReadOnlyList<TokenizedText> inputs, IReadOnlyList<int> rows, long padId)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(rows);
        Rows = [.. rows];
        Lengths = Rows.Select(r => inputs[r].Ids.Length).ToArray();
        // An empty row still takes one (masked) position: a [B, 0] tensor has nothing to attend to or pool.
        Length = Math.Max(1, Lengths.DefaultIfEmpty(0).Max());
        InputIds = new long[Count * Length];
        AttentionMask = new long[Count * Length];
        for (int b = 0; b < Count; b++)
        {
            TokenizedText input = inputs[Rows[b]];
            for (int i = 0; i < Length; i++)
            {
                int at = b * Length + i;
                bool real = i < input.Ids.Length;
                InputIds[at] = real ? input.Ids[i] : padId;
                AttentionMask[at] = real ? 1 : 0;
                if (real && input.TypeIds is { } types && types[i] != 0) (TokenTypeIds ??= new long[Count * Length])[at] = types[i];
            }
        }
        IsPadded = Lengths.Any(l => l < Length);
    }

    /// <summary>Each row's index in the request.</summary>
    public int[] Rows { get; }

    /// <summary>Each row's real length.</summary>
    public int[] Lengths { get; }

    public int Count => Rows.Length;

    /// <summary>The longest row's length (at least 1): every row is padded to it.</summary>
    public int Length { get; }

    /// <summary>[Count × Length]: the ids, then the pad id.</summary>
    public long[] InputIds { get; }

    /// <summary>[Count × Length]: 1 for a real token, 0 for padding.</summary>
    public long[] AttentionMask { get; }

    /// <summary>[Count × Length], or null when every type id is 0.</summary>
    public long[]? TokenTypeIds { get; }

    /// <summary>Whether some row is shorter than <see cref="Length"/>.</summary>
    public bool IsPadded { get; }

    /// <summary>The positions a forward pass computes, padding included.</summary>
    public long PaddedTokens => (long)Count * Length;

    /// <summary>[B, L] int64 ids on the CPU.</summary>
    public Tensor InputIdsTensor() => tensor(InputIds, [Count, Length]);

    /// <summary>[B, L] int64, 1 real / 0 padding, on the CPU.</summary>
    public Tensor AttentionMaskTensor() => tensor(AttentionMask, [Count, Length]);

    /// <summary>[B, L] int64 on the CPU, or null for all zeros.</summary>
    public Tensor? TokenTypeIdsTensor() => TokenTypeIds is null ? null : tensor(TokenTypeIds, [Count, Length]);
}
