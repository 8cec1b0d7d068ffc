using EncoderKit.Modeling;
using EncoderKit.Modeling.Blocks;
using EncoderKit.Modeling.Heads;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// The spec options a family may need beyond today's five (RoBERTa's positions and classifier, DeBERTa / ALiBi-style
/// attention bias), each on small random modules against the formula written out by hand. Tolerance 1e-5 in fp32:
/// the hand computation differs only in summation order.
/// </summary>
public sealed class SpecOptionTests
{
    const int Hidden = 8;

    static EncoderSpec Tiny(EmbeddingSpec embeddings) => new(
        Layers: 1, Hidden,
        embeddings,
        new AttentionSpec(2, 2, 4, QkvBias: true, OutputBias: true),
        new MlpSpec(16, Activation.Gelu, Gated: false, InputBias: true, OutputBias: true),
        new NormSpec(NormKind.LayerNorm, 1e-5, Bias: true),
        new NormPlacement(PreNorm: false, FirstLayerAttentionNorm: true, FinalNorm: false),
        Rope: null, HeadsSpec.None, DropoutSpec.None);

    static RandomParameters Random() => new(new InitRules(0.5), ScalarType.Float32, CPU, seed: 11);

    static Tensor Parameter(nn.Module module, string name) => module.named_parameters().Single(p => p.name == name).parameter;

    [Fact]
    public void PositionsAfterPaddingCountOnlyRealTokens()
    {
        const int pad = 1;
        EncoderSpec spec = Tiny(new EmbeddingSpec(VocabSize: 20, MaxPositions: 16, TypeVocabSize: 0, Norm: false, PadTokenId: pad, PositionIds.AfterPadding));
        using var embeddings = new EncoderKit.Modeling.Blocks.Embeddings("embeddings", spec, Random());
        using var scope = NewDisposeScope();
        long[,] ids = { { 0, 5, 1, 7, 9, 1 }, { 1, 1, 3, 4, 1, 1 } };
        Tensor output = embeddings.Forward(tensor(ids), null);

        Tensor word = Parameter(embeddings, "word"), position = Parameter(embeddings, "position");
        for (int b = 0; b < 2; b++)
        {
            int seen = 0;
            for (int t = 0; t < 6; t++)
            {
                long id = ids[b, t];
                long expectedPosition = id == pad ? pad : pad + ++seen;   // RoBERTa: padding_idx + 1 + index among real tokens
                TensorAssert.Close(output[b, t], word[id] + position[expectedPosition], 1e-5, what: $"row {b} token {t}");
            }
        }
    }

    [Fact]
    public void ATanhClassifierTransformWithoutNormIsDenseTanhThenOutput()
    {
        EncoderSpec spec = Tiny(new EmbeddingSpec(20, 16, 0, Norm: false, PadTokenId: null));
        var head = new ClassifierSpec(3, ClassifierPooling.Cls, new HeadTransformSpec(Activation.Tanh, Norm: null, DenseBias: true), Bias: true, ["a", "b", "c"]);
        using var word = new TorchSharp.Modules.Parameter(zeros(20, Hidden));
        using Head module = head.Build(spec, word, Random());
        Assert.Equal(["transform.dense.weight", "transform.dense.bias", "output.weight", "output.bias"], module.named_parameters().Select(p => p.name));
        using var scope = NewDisposeScope();
        Tensor hidden = randn([2, 5, Hidden], generator: new Generator(3));
        Tensor logits = module.Forward(new HeadInputs(hidden, null, name => throw new InvalidOperationException(name)));

        Tensor first = hidden.select(1, 0);
        Tensor features = (first.matmul(Parameter(module, "transform.dense.weight").t()) + Parameter(module, "transform.dense.bias")).tanh();
        Tensor expected = features.matmul(Parameter(module, "output.weight").t()) + Parameter(module, "output.bias");
        TensorAssert.Close(logits, expected, 1e-5, what: "classifier logits");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnAttentionBiasIsAddedToTheScores(bool windowed)
    {
        const int length = 40, heads = 2, dim = 4, window = 8;
        using var scope = NewDisposeScope();
        var generator = new Generator(5);
        Tensor q = randn([2, heads, length, dim], generator: generator), k = randn([2, heads, length, dim], generator: generator), v = randn([2, heads, length, dim], generator: generator);
        Tensor bias = randn([1, heads, length, length], generator: generator);
        Tensor attentionMask = ones(2, length, ScalarType.Int64);
        attentionMask[1, TensorIndex.Slice(30)] = 0;
        var spec = new AttentionSpec(heads, heads, dim, false, false, LocalWindow: windowed ? window : null, GlobalEveryNLayers: 2);
        using var masks = AttentionMasks.Build(spec, attentionMask, length, CPU);
        Tensor attended = masks.Attend(q, k, v, global: !windowed, dropout: 0, bias: bias);

        // softmax(q kᵀ / √d + bias, over the keys each query may see) v, written out.
        var allowed = new bool[2, length, length];
        for (int b = 0; b < 2; b++)
        for (int i = 0; i < length; i++)
        for (int j = 0; j < length; j++)
            allowed[b, i, j] = attentionMask[b, j].item<long>() == 1 && (!windowed || Math.Abs(i - j) <= window / 2);
        Tensor scores = q.matmul(k.transpose(-1, -2)) / Math.Sqrt(dim) + bias;
        Tensor blocked = tensor(allowed).view(2, 1, length, length).logical_not();
        using Scalar minusInfinity = double.NegativeInfinity.ToScalar();
        Tensor expected = scores.masked_fill(blocked, minusInfinity).softmax(-1).matmul(v);
        // Compared at real queries: what a padded query computes is left to the implementation (meta.json conventions).
        TensorAssert.Close(attended.transpose(1, 2), expected.transpose(1, 2), 1e-5, attentionMask, "attention with bias");
    }

    [Fact]
    public void ASigmoidGateDifferentiatesAsWrittenOut()
    {
        // NomicBERT's "glu": fc2(sigmoid(fc12(x)) * fc11(x)). Sigmoid's backward reads its own output, so a gate that
        // multiplied into it in place could not be differentiated.
        using var mlp = new Mlp("mlp", Hidden, new MlpSpec(16, Activation.Sigmoid, Gated: true, InputBias: true, OutputBias: true), DropoutSpec.None, Random());
        using var scope = NewDisposeScope();
        Tensor x = randn([3, Hidden], generator: new Generator(9));
        Tensor inputWeight = Parameter(mlp, "input.weight"), inputBias = Parameter(mlp, "input.bias");
        Tensor outputWeight = Parameter(mlp, "output.weight"), outputBias = Parameter(mlp, "output.bias");
        using (enable_grad()) mlp.forward(x).square().sum().backward();
        Tensor ours = inputWeight.grad!.clone();

        using var weight = inputWeight.detach().clone().requires_grad_(true);
        using (enable_grad())
        {
            Tensor projected = x.matmul(weight.t()) + inputBias.detach();
            Tensor inner = projected.narrow(-1, 0, 16).sigmoid() * projected.narrow(-1, 16, 16);
            (inner.matmul(outputWeight.detach().t()) + outputBias.detach()).square().sum().backward();
        }
        TensorAssert.Close(ours, weight.grad!, 1e-5, what: "gradient of the gated input projection");
    }

    [Fact]
    public void TheNetworksAttentionBiasReachesEveryLayer()
    {
        // A bias of -∞ on key 1 for every query hides token 1 exactly as padding it does, in every layer; positions are
        // learned and sequential, so nothing else about the other tokens changes.
        using var fixture = new Fixture("bert");
        using var model = EncoderModel.Load(fixture.Folder);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor ids = fixture.InputIds, types = fixture.TokenTypeIds!, mask = fixture.AttentionMask;
        long length = ids.shape[1];
        Tensor bias = zeros(1, 1, length, length);
        bias[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Colon, 1] = double.NegativeInfinity;
        Tensor hidden = mask.clone();
        hidden[TensorIndex.Colon, 1] = 0;

        using EncoderOutputs biased = model.Network.Forward(ids, mask, types, Outputs.LastHiddenState, bias);
        using EncoderOutputs padded = model.Network.Forward(ids, hidden, types, Outputs.LastHiddenState);
        using EncoderOutputs plain = model.Network.Forward(ids, mask, types, Outputs.LastHiddenState);
        TensorAssert.Close(biased.LastHiddenState, padded.LastHiddenState, 1e-5, hidden, "bias -inf on key 1 vs key 1 padded");
        Assert.True(TensorAssert.MaxAbsDiff(biased.LastHiddenState, plain.LastHiddenState, hidden) > 1e-3, "the bias changed nothing");
    }
}
