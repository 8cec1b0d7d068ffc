using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

/// <summary>What one layer's attention needs besides its input: which keys it may see, and its rotary tables.</summary>
/// <param name="Masks">The forward pass's padding and sliding-window masks.</param>
/// <param name="Global">Whether this layer sees every key (otherwise only those within the sliding window).</param>
/// <param name="Rotary">Rotary tables for this layer's base; null for learned absolute positions.</param>
/// <param name="Bias">Float [B or 1, heads, L, L] added to the attention scores before the softmax; null for none.</param>
public readonly record struct AttentionContext(AttentionMasks Masks, bool Global, Rotary? Rotary, Tensor? Bias = null);

/// <summary>Multi-head self-attention with grouped key/value heads, through scaled_dot_product_attention.</summary>
public sealed class Attention : nn.Module
{
    readonly AttentionSpec spec;
    readonly double probabilitiesDropout, outputDropout;
    readonly Dense qkv, output;

    public Attention(string name, int hidden, AttentionSpec spec, DropoutSpec dropout, IParameterSource source) : base(name)
    {
        this.spec = spec;
        probabilitiesDropout = dropout.AttentionProbabilities;
        outputDropout = dropout.AttentionOutput;
        qkv = new Dense(name + ".qkv", hidden, spec.QkvRows, spec.QkvBias, source);
        output = new Dense(name + ".output", spec.Heads * spec.HeadDim, hidden, spec.OutputBias, source);
        register_module("qkv", qkv);
        register_module("output", output);
    }

    /// <param name="x">[B, L, H], or a packed stream [T, H] (then <paramref name="context"/>'s masks and tables are packed too).</param>
    public Tensor Forward(Tensor x, AttentionContext context)
    {
        using var scope = NewDisposeScope();
        long batch = x.dim() == 2 ? 1 : x.shape[0], length = x.shape[^2];
        int heads = spec.Heads, kvHeads = spec.KvHeads, headDim = spec.HeadDim;
        Tensor projected = qkv.forward(x);                                                        // [B, L, (h + 2 kv) d]
        // Queries and keys sit side by side in the projection, so one rotation covers both.
        Tensor queriesKeys = projected.narrow(-1, 0, (heads + kvHeads) * headDim).view(batch, length, heads + kvHeads, headDim);
        if (context.Rotary is { } rotary) queriesKeys = rotary.Apply(queriesKeys);              // [B, L, h + kv, d]
        Tensor q = queriesKeys.narrow(2, 0, heads).transpose(1, 2);                               // [B, h, L, d]
        Tensor k = queriesKeys.narrow(2, heads, kvHeads).transpose(1, 2);                         // [B, kv, L, d]
        Tensor v = projected.narrow(-1, (heads + kvHeads) * headDim, kvHeads * headDim).view(batch, length, kvHeads, headDim).transpose(1, 2);
        Tensor attended = context.Masks.Attend(q, k, v, context.Global, training ? probabilitiesDropout : 0, context.Bias);   // [B, h, L, d]
        Tensor merged = attended.transpose(1, 2).reshape([.. x.shape[..^1], heads * headDim]);
        return Dropout.Apply(output.forward(merged), outputDropout, training).MoveToOuterDisposeScope();
    }
}
