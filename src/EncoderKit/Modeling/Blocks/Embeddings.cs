using EncoderKit.Compute;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

/// <summary>Token (+ learned position) (+ token type) embeddings, then the embedding norm where the family has one.</summary>
public sealed class Embeddings : nn.Module
{
    readonly EmbeddingSpec spec;
    readonly double dropout;
    readonly Parameter word;
    readonly Parameter? position, tokenType;
    readonly Norm? norm;

    public Embeddings(string name, EncoderSpec spec, IParameterSource source) : base(name)
    {
        EmbeddingSpec e = this.spec = spec.Embeddings;
        dropout = spec.Dropout.Embedding;
        word = Register("word", new Parameter(source.Take(name + ".word", [e.VocabSize, spec.Hidden], Init.Normal)));
        if (spec.Rope is null)
            position = Register("position", new Parameter(source.Take(name + ".position", [e.MaxPositions, spec.Hidden], Init.Normal)));
        if (e.TypeVocabSize > 0)
            tokenType = Register("token_type", new Parameter(source.Take(name + ".token_type", [e.TypeVocabSize, spec.Hidden], Init.Normal)));
        if (e.Norm)
        {
            norm = new Norm(name + ".norm", spec.Hidden, spec.Norm, source);
            register_module("norm", norm);
        }
    }

    /// <summary>The word-embedding matrix [V, H]; MLM decoders tied to it read it here.</summary>
    public Parameter Word => word;

    /// <param name="inputIds">[B, L] int64.</param>
    /// <param name="tokenTypeIds">[B, L] int64, or null for all zeros.</param>
    /// <param name="packed">When given, only the real tokens are embedded, as a [T, H] stream; positions stay each token's own.</param>
    /// <returns>[B, L, H], or [T, H] when packed.</returns>
    public Tensor Forward(Tensor inputIds, Tensor? tokenTypeIds, PackedTokens? packed = null)
    {
        using var scope = NewDisposeScope();
        Tensor ids = packed?.Pack(inputIds) ?? inputIds;
        Tensor x = Lookup(word, ids);
        // nn.Embedding(padding_idx) never trains the padding row: padded positions read it but give it no gradient.
        if (spec.PadTokenId is int pad && is_grad_enabled())
        {
            using Scalar padId = pad.ToScalar();
            x = x.where(ids.ne(padId).unsqueeze(-1), x.detach());
        }
        if (position is not null)
        {
            Tensor positionIds = PositionIds(inputIds);
            x = x + Lookup(position, packed?.Pack(positionIds.expand(inputIds.shape)) ?? positionIds);
        }
        if (tokenType is not null)
            x = x + (tokenTypeIds is null ? tokenType[0] : Lookup(tokenType, packed?.Pack(tokenTypeIds) ?? tokenTypeIds));
        if (norm is not null) x = norm.forward(x);
        return Dropout.Apply(x, dropout, training).MoveToOuterDisposeScope();
    }

    // [1, L] for sequential positions; [B, L] counted after the padding id (RoBERTa's create_position_ids_from_input_ids).
    Tensor PositionIds(Tensor inputIds)
    {
        if (spec.Positions == Modeling.PositionIds.Sequential)
            return TensorRange.Arange(inputIds.shape[1], ScalarType.Int64, inputIds.device).unsqueeze(0);
        long pad = spec.PadTokenId!.Value;
        using Scalar padId = pad.ToScalar();
        Tensor real = inputIds.ne(padId).to_type(ScalarType.Int64);
        return real.cumsum(1) * real + pad;
    }

    static Tensor Lookup(Tensor table, Tensor ids) =>
        table.index_select(0, ids.flatten()).view([.. ids.shape, table.shape[1]]);

    Parameter Register(string parameterName, Parameter parameter)
    {
        register_parameter(parameterName, parameter);
        return parameter;
    }
}
