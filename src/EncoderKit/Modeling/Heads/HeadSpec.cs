using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Heads;

/// <summary>
/// One head a checkpoint carries: the module it builds, the output it produces, and the flag that asks for it. A
/// new head is one such record with its module, plus its tensor names in each family's weight map.
/// </summary>
public abstract record HeadSpec
{
    /// <summary>The module's name, the prefix of its internal parameter names ("mlm" for "mlm.decoder_bias").</summary>
    public abstract string Module { get; }

    /// <summary>The output's name, as the reference fixtures and <c>encoderkit forward</c> spell it.</summary>
    public abstract string Output { get; }

    /// <summary>The flag of <see cref="Outputs"/> that asks for this head's output.</summary>
    public abstract Outputs Flag { get; }

    /// <summary>Outputs of other heads this one reads; they are listed before it, and computed whenever it is.</summary>
    public virtual IReadOnlyList<string> Reads => [];

    /// <summary>
    /// The outputs a caller sees, from the module's one tensor: itself under <see cref="Output"/>, unless the head
    /// splits it (QA's [B, L, 2] into start and end logits) or drops a unit axis (multiple choice's one score per row).
    /// </summary>
    public virtual IEnumerable<(string Name, Tensor Value)> Named(Tensor output) => [(Output, output)];

    /// <param name="wordEmbeddings">The word-embedding matrix [V, H], for decoders tied to it.</param>
    public abstract Head Build(EncoderSpec spec, Parameter wordEmbeddings, IParameterSource source);
}

/// <summary>A head's module: reads the encoder's output (and other heads' outputs) and computes its own.</summary>
public abstract class Head(string name) : nn.Module(name)
{
    public abstract Tensor Forward(HeadInputs inputs);
}

/// <summary>What a head reads: the last hidden state, the padding mask, and the outputs of the heads it builds on.</summary>
/// <param name="output">Another head's output by name (one of <see cref="HeadSpec.Reads"/>): NSP reads the pooler's.</param>
public sealed class HeadInputs(Tensor lastHiddenState, Tensor? attentionMask, Func<string, Tensor> output)
{
    /// <summary>[B, L, H], after the final norm where the family has one.</summary>
    public Tensor LastHiddenState => lastHiddenState;

    /// <summary>[B, L], 1 at real tokens; null when nothing is padded.</summary>
    public Tensor? AttentionMask => attentionMask;

    public Tensor Output(string name) => output(name);
}
