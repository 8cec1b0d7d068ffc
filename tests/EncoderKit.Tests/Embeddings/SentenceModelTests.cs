using EncoderKit.SentenceEmbeddings;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Embeddings;

/// <summary>
/// The sentence-transformers modules as a composition of TorchSharp modules, and the request logic the encoder took
/// over from the command line (search prompts, the width binary precisions need, the warning about few embeddings).
/// </summary>
public sealed class SentenceModelTests
{
    [Fact]
    public void DenseAndLayerNormHoldTrainableParametersUnderTheLibrarysNames()
    {
        var random = new Random(5);
        var weight = new float[16, 64];
        for (int o = 0; o < 16; o++)
        for (int i = 0; i < 64; i++)
            weight[o, i] = (float)(random.NextDouble() - 0.5);
        float[] bias = Enumerable.Range(0, 16).Select(o => o * 0.1f).ToArray();
        float[] normWeight = Enumerable.Range(0, 16).Select(i => 1 + i / 16f).ToArray(), normBias = Enumerable.Range(0, 16).Select(i => -i / 32f).ToArray();
        using var folder = new SentenceFolder().Modules(("2_Dense", "Dense"), ("3_LayerNorm", "LayerNorm"), ("4_Normalize", "Normalize")).ClassicPooling()
            .Dense("2_Dense", weight, bias, "torch.nn.modules.activation.Tanh").LayerNorm("3_LayerNorm", normWeight, normBias);
        using var encoder = SentenceEncoder.Load(folder.Path);
        SentenceModel modules = encoder.Modules;
        Assert.True(modules.EndsWithNormalize);
        Assert.Equal(16, modules.Dimension);

        var dense = Assert.IsType<DenseLayer>(modules.Layers[0]);
        var norm = Assert.IsType<LayerNormLayer>(modules.Layers[1]);
        var denseParameters = dense.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var normParameters = norm.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(["linear.bias", "linear.weight"], denseParameters.Keys.Order());
        Assert.Equal(["norm.bias", "norm.weight"], normParameters.Keys.Order());
        Assert.Equal(weight.Cast<float>(), denseParameters["linear.weight"].data<float>().ToArray());
        Assert.Equal(bias, denseParameters["linear.bias"].data<float>().ToArray());
        Assert.Equal(normWeight, normParameters["norm.weight"].data<float>().ToArray());

        // Outside inference, gradients reach every parameter: training can update them.
        using var scope = NewDisposeScope();
        Tensor input = randn(3, 64, generator: new TorchSharp.torch.Generator(1));
        Tensor loss = norm.forward(dense.forward(input)).square().sum();
        loss.backward();
        foreach (var (name, parameter) in denseParameters.Concat(normParameters))
        {
            Assert.True(parameter.requires_grad, name);
            Assert.NotNull(parameter.grad);
            Assert.True(parameter.grad!.abs().sum().item<float>() > 0, $"{name} got no gradient");
        }
    }

    [Fact]
    public void SearchPromptsArePickedAsEncodeQueryAndEncodeDocumentPickThem()
    {
        using var both = SentenceFolder.MeanNormalized(settings: new { prompts = new { query = "q: ", passage = "p: ", corpus = "c: " } });
        using var encoder = SentenceEncoder.Load(both.Path);
        Assert.Equal("query", encoder.QueryPromptName);
        Assert.Equal("passage", encoder.DocumentPromptName);   // "document" absent: "passage" comes before "corpus"

        using var none = SentenceFolder.MeanNormalized();
        using var plain = SentenceEncoder.Load(none.Path);
        Assert.Null(plain.QueryPromptName);
        Assert.Null(plain.DocumentPromptName);
    }

    [Fact]
    public void QuantizationChecksTheWidthFirstAndWarnsThroughTheLogger()
    {
        using var folder = SentenceFolder.MeanNormalized();
        var log = new ListLogger();
        using var encoder = SentenceEncoder.Load(folder.Path, new SentenceEncoderOptions { Logger = log });
        Assert.Equal(8, encoder.QuantizedWidth(EmbeddingPrecision.Binary));
        Assert.Equal(64, encoder.QuantizedWidth(EmbeddingPrecision.Int8));
        var error = Assert.Throws<EncoderKitException>(() => encoder.QuantizedWidth(EmbeddingPrecision.UBinary, new EmbedOptions { TruncateDim = 12 }));
        Assert.Equal("precision", error.Field);
        Assert.Contains("12 is not a multiple of 8", error.Message);
        Assert.DoesNotContain("--", error.Message);

        QuantizedEmbeddings quantized = encoder.EncodeQuantized(["one", "two", "three"], EmbeddingPrecision.Int8);
        Assert.Equal(3, quantized.Rows.Count);
        var warning = Assert.Single(log.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains("only 3 embeddings", warning.Message);
        Assert.DoesNotContain("--", warning.Message);
    }
}
