using EncoderKit.Compute;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

/// <summary>
/// Which keys each query may see in one forward pass, and attention over exactly those keys. Global layers see
/// every real (unpadded) key; sliding-window layers see the real keys with |i - j| &lt;= window / 2
/// (ModernBERT's rule: a window of 128 reaches 64 tokens each side).
/// </summary>
/// <remarks>
/// Sliding-window layers run block by block: queries in blocks of <c>window</c> tokens, each against only the keys
/// its window can reach (the block widened by window / 2 on both sides), with a small boolean mask per block.
/// The alternative, one [L, L] band mask, is 64 MB of bools at 8192 tokens, becomes a 256 MB additive fp32 mask
/// inside scaled_dot_product_attention, and still makes the fused kernel compute all L² scores although all but
/// (window + 1) per query are thrown away; at 8192 tokens that is ~1.5 s per local layer on two cores against
/// ~0.05 s for the blocks. Every block still goes through scaled_dot_product_attention, so no score matrix
/// larger than block × (block + window) exists per head.
/// </remarks>
public sealed class AttentionMasks : IDisposable
{
    readonly IReadOnlyList<WindowBlock>? blocks;
    readonly IReadOnlyList<PackedSequence>? sequences;

    AttentionMasks(Tensor? padding, IReadOnlyList<WindowBlock>? blocks, IReadOnlyList<PackedSequence>? sequences = null)
    {
        Padding = padding;
        this.blocks = blocks;
        this.sequences = sequences;
    }

    /// <summary>[B, 1, 1, L], true at real keys; null when nothing is padded.</summary>
    public Tensor? Padding { get; }

    /// <summary>Whether local layers differ from global ones for this input (the window does not cover every key).</summary>
    public bool Windowed => blocks is not null;

    /// <param name="attentionMask">[B, L], 1 at real tokens, 0 at padding; null when nothing is padded.</param>
    public static AttentionMasks Build(AttentionSpec spec, Tensor? attentionMask, long length, Device device)
    {
        Tensor? padding = null;
        if (attentionMask is not null && attentionMask.min().item<long>() == 0)
            padding = attentionMask.to_type(ScalarType.Bool).view(attentionMask.shape[0], 1, 1, length);
        if (spec.LocalWindow is not { } window || length - 1 <= window / 2)
            return new AttentionMasks(padding, null);

        long half = window / 2, queryBlock = Math.Max(window, 32);
        var blocks = new List<WindowBlock>();
        for (long start = 0; start < length; start += queryBlock)
        {
            long queries = Math.Min(queryBlock, length - start);
            long keyStart = Math.Max(0, start - half), keyEnd = Math.Min(length, start + queries + half);
            var (mask, blind) = BlockMask(start, queries, keyStart, keyEnd - keyStart, half, padding, device);
            blocks.Add(new WindowBlock(start, queries, keyStart, keyEnd - keyStart, mask, blind));
        }
        return new AttentionMasks(padding, blocks);
    }

    /// <summary>Attention within each sequence of a packed stream: each query sees only its own sequence's keys (and window).</summary>
    public static AttentionMasks Packed(AttentionSpec spec, PackedTokens tokens, Device device)
    {
        var byLength = new Dictionary<long, AttentionMasks>();
        var sequences = new PackedSequence[tokens.Lengths.Length];
        for (int s = 0; s < sequences.Length; s++)
        {
            long length = tokens.Lengths[s];
            if (!byLength.TryGetValue(length, out AttentionMasks? masks)) byLength[length] = masks = Build(spec, null, length, device);
            sequences[s] = new PackedSequence(tokens.Starts[s], length, masks);
        }
        return new AttentionMasks(null, null, sequences);
    }

    /// <summary>Scaled dot-product attention of <paramref name="q"/> over the keys this layer may see.</summary>
    /// <param name="q">[B, h, L, d]; for a packed stream [1, h, T, d].</param>
    /// <param name="k">[B, kv, L, d] like <paramref name="v"/>: query head i reads key/value head i / (h / kv), as repeat_kv pairs them.</param>
    /// <param name="dropout">Dropout probability on the attention weights (training only; 0 in inference).</param>
    /// <param name="bias">Float [B or 1, h, L, L] added to the scores before the softmax; null for none.</param>
    /// <returns>[B, h, L, d].</returns>
    public Tensor Attend(Tensor q, Tensor k, Tensor v, bool global, double dropout = 0, Tensor? bias = null)
    {
        if (sequences is not null) return AttendPerSequence(q, k, v, global, dropout, bias);
        if (global || blocks is null)
        {
            if (bias is null) return GroupedAttention(q, k, v, Padding, dropout);
            using var biased = AddMask(bias, Padding);
            return GroupedAttention(q, k, v, biased, dropout);
        }
        using var scope = NewDisposeScope();
        if (k.shape[1] != q.shape[1])
        {
            // No family combines grouped key/value heads with sliding windows; repeating them keeps the blind-query rule simple.
            long groups = q.shape[1] / k.shape[1];
            k = k.repeat_interleave(groups, dim: 1);
            v = v.repeat_interleave(groups, dim: 1);
        }
        var parts = new Tensor[blocks.Count];
        for (int b = 0; b < blocks.Count; b++)
        {
            WindowBlock block = blocks[b];
            Tensor mask = bias is null ? block.Mask
                : AddMask(bias.narrow(2, block.QueryStart, block.Queries).narrow(3, block.KeyStart, block.Keys), block.Mask);
            Tensor attended = nn.functional.scaled_dot_product_attention(
                q.narrow(2, block.QueryStart, block.Queries),
                k.narrow(2, block.KeyStart, block.Keys),
                v.narrow(2, block.KeyStart, block.Keys),
                mask, dropout);
            if (block.Blind is not null) attended = where(block.Blind, Uniform(q.narrow(2, block.QueryStart, block.Queries), k, v), attended);
            parts[b] = attended.transpose(1, 2);                                                  // [B, block, h, d]
        }
        // Joined as [B, L, h, d], the layout the heads are merged from, and handed back as the [B, h, L, d] view.
        return cat(parts, 1).transpose(1, 2).MoveToOuterDisposeScope();
    }

    // One sequence at a time: every position-wise op before and after ran on real tokens only, and so does attention.
    // The alternative, one call over the whole stream with a block-diagonal mask, computes all T² scores where the
    // sequences need Σ Lᵢ², B times fewer for B equal lengths. `bench unpadded` times both on 15 sequences of 46–85
    // tokens: on a quiet 2-core AMD EPYC 4.5–6.4 ms per sequence against 23.5–39.4 ms block-diagonal in four runs.
    // Under heavy load one batch of 8 short rows (22–61 tokens) once went the other way (69 against 41 ms); the mask
    // could only win on short rows, where attention is a sliver of the layer.
    Tensor AttendPerSequence(Tensor q, Tensor k, Tensor v, bool global, double dropout, Tensor? bias)
    {
        using var scope = NewDisposeScope();
        var parts = new Tensor[sequences!.Count];
        for (int s = 0; s < parts.Length; s++)
        {
            var (start, length, masks) = sequences[s];
            Tensor? own = bias?.narrow(0, bias.shape[0] == 1 ? 0 : s, 1).narrow(2, 0, length).narrow(3, 0, length);
            Tensor attended = masks.Attend(q.narrow(2, start, length), k.narrow(2, start, length), v.narrow(2, start, length), global, dropout, own);
            parts[s] = attended.transpose(1, 2);                                                  // [1, length, h, d]
        }
        return cat(parts, 1).transpose(1, 2).MoveToOuterDisposeScope();
    }

    // Grouped-query attention without copying keys and values: the queries of the heads sharing key/value head j are
    // folded into one query axis ([B, kv, groups × L, d]), so one call serves the whole group. A mask or bias that
    // differs per head or per query is folded the same way.
    static Tensor GroupedAttention(Tensor q, Tensor k, Tensor v, Tensor? mask, double dropout)
    {
        long heads = q.shape[1], kvHeads = k.shape[1];
        if (heads == kvHeads) return nn.functional.scaled_dot_product_attention(q, k, v, mask, dropout);
        using var scope = NewDisposeScope();
        long batch = q.shape[0], queries = q.shape[2], groups = heads / kvHeads;
        Tensor folded = q.reshape(batch, kvHeads, groups * queries, q.shape[3]);
        if (mask is not null && (mask.shape[1] != 1 || mask.shape[2] != 1))
        {
            long maskBatch = mask.shape[0], keys = mask.shape[3];
            mask = mask.expand(maskBatch, heads, queries, keys).reshape(maskBatch, kvHeads, groups * queries, keys);
        }
        Tensor attended = nn.functional.scaled_dot_product_attention(folded, k, v, mask, dropout);
        return attended.view(batch, heads, queries, v.shape[3]).MoveToOuterDisposeScope();
    }

    // Attention weighing every key alike: the mean of all values v̄. Under autograd, transformers' softmax at that uniform
    // point still passes gradient to the scores s = q kᵀ / √d: ∂out_i / ∂s_ij = (v_j − v̄) / L. The term
    // q M − (q M).detach() with M = kᵀ (v − v̄).detach() / (L √d) is zero and carries exactly that gradient to q and k,
    // without the [queries, L] score matrix (M is [d, d] per head).
    static Tensor Uniform(Tensor q, Tensor k, Tensor v)
    {
        using var scope = NewDisposeScope();
        Tensor mean = v.mean([2L], keepdim: true);
        if (!is_grad_enabled()) return mean.MoveToOuterDisposeScope();
        Tensor m = k.transpose(-1, -2).matmul((v - mean).detach()) / (v.shape[2] * Math.Sqrt(q.shape[^1]));
        Tensor scoreGradient = q.matmul(m);
        return (mean + (scoreGradient - scoreGradient.detach())).MoveToOuterDisposeScope();
    }

    // An additive bias with -inf where a boolean mask forbids the key: the float mask scaled_dot_product_attention adds.
    static Tensor AddMask(Tensor bias, Tensor? allowed)
    {
        if (allowed is null) return bias.alias();
        using var forbidden = allowed.logical_not();
        using Scalar minusInfinity = double.NegativeInfinity.ToScalar();
        using var blocked = zeros(allowed.shape, bias.dtype, bias.device).masked_fill_(forbidden, minusInfinity);
        return bias + blocked;
    }

    // [B or 1, 1, queries, keys]: true where |i - j| <= half and key j is real; and [B, 1, queries, 1], true at the
    // padded queries whose window holds no real key (null when there is none). transformers adds finfo.min for every
    // forbidden key, so such a query's scores all round to finfo.min and its softmax is uniform over all L keys: its
    // output is the mean of every value, which Attend writes in (see Uniform). Meanwhile it sees itself, so its softmax is no NaN
    // (which would reach real tokens through 0 × NaN in the next layer's weighted sum, and through backward).
    static (Tensor Mask, Tensor? Blind) BlockMask(long start, long queries, long keyStart, long keys, long half, Tensor? padding, Device device)
    {
        using var scope = NewDisposeScope();
        Tensor i = TensorRange.Arange(start, start + queries, ScalarType.Int64, device).unsqueeze(1);   // [q, 1]
        Tensor j = TensorRange.Arange(keyStart, keyStart + keys, ScalarType.Int64, device).unsqueeze(0); // [1, k]
        using Scalar reach = half.ToScalar();
        Tensor mask = (i - j).abs().le(reach).view(1, 1, queries, keys);
        if (padding is null) return (mask.MoveToOuterDisposeScope(), null);
        mask = mask & padding.narrow(3, keyStart, keys);
        Tensor blind = mask.any(3, keepdim: true).logical_not();
        if (!blind.any().item<bool>()) return (mask.MoveToOuterDisposeScope(), null);
        mask = mask | (blind & (i == j).view(1, 1, queries, keys));
        return (mask.MoveToOuterDisposeScope(), blind.MoveToOuterDisposeScope());
    }

    public void Dispose()
    {
        Padding?.Dispose();
        if (sequences is not null)
            foreach (AttentionMasks masks in sequences.Select(s => s.Masks).Distinct()) masks.Dispose();
        if (blocks is not null)
            foreach (WindowBlock block in blocks)
            {
                block.Mask.Dispose();
                block.Blind?.Dispose();
            }
    }

    readonly record struct PackedSequence(long Start, long Length, AttentionMasks Masks);

    readonly record struct WindowBlock(long QueryStart, long Queries, long KeyStart, long Keys, Tensor Mask, Tensor? Blind);
}
