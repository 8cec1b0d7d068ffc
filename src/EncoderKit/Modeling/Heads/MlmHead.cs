using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Heads;

/// <param name="Transform">Dense + activation + norm before the decoder (BERT's cls.predictions.transform); null: the decoder reads the hidden states directly.</param>
/// <param name="TiedDecoder">The decoder weight is the word-embedding matrix.</param>
public sealed record MlmHeadSpec(HeadTransformSpec? Transform, bool TiedDecoder, bool DecoderBias) : HeadSpec
{
    public override string Module => "mlm";
    public override string Output => "mlm_logits";
    public override Outputs Flag => Outputs.MlmLogits;

    public override Head Build(EncoderSpec spec, Parameter wordEmbeddings, IParameterSource source) => new MlmHead(Module, spec, this, wordEmbeddings, source);
}

/// <summary>Masked-language-model logits over the vocabulary [B, L, V]: optional transform, then the decoder.</summary>
public sealed class MlmHead : Head
{
    readonly HeadTransform? transform;
    readonly Tensor decoderWeight;   // [V, H]; the word embeddings themselves when tied (then not registered here)
    readonly Parameter? decoderBias;

    public MlmHead(string name, EncoderSpec spec, MlmHeadSpec head, Parameter wordEmbeddings, IParameterSource source) : base(name)
    {
        if (head.Transform is not null)
        {
            transform = new HeadTransform(name + ".transform", spec.Hidden, head.Transform, source);
            register_module("transform", transform);
        }
        if (head.TiedDecoder)
        {
            decoderWeight = wordEmbeddings;
        }
        else
        {
            var own = new Parameter(source.Take(name + ".decoder", [spec.Embeddings.VocabSize, spec.Hidden], Init.Normal));
            register_parameter("decoder", own);
            decoderWeight = own;
        }
        if (head.DecoderBias)
        {
            decoderBias = new Parameter(source.Take(name + ".decoder_bias", [spec.Embeddings.VocabSize], Init.Zeros));
            register_parameter("decoder_bias", decoderBias);
        }
    }

    public override Tensor Forward(HeadInputs inputs)
    {
        using var scope = NewDisposeScope();
        Tensor x = transform?.forward(inputs.LastHiddenState) ?? inputs.LastHiddenState;
        return nn.functional.linear(x, decoderWeight, decoderBias).MoveToOuterDisposeScope();
    }
}
