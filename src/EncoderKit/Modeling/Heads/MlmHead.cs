using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Heads;

/// <summary>Masked-language-model logits over the vocabulary: optional transform, then the decoder.</summary>
public sealed class MlmHead : nn.Module<Tensor, Tensor>
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

    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        Tensor x = transform?.forward(hidden) ?? hidden;
        return nn.functional.linear(x, decoderWeight, decoderBias).MoveToOuterDisposeScope();
    }
}
