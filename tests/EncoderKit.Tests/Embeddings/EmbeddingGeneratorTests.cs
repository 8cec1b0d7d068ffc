using EncoderKit.SentenceEmbeddings;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EncoderKit.Tests.Embeddings;

/// <summary>The encoder as a Microsoft.Extensions.AI embedding generator, resolved through dependency injection.</summary>
public sealed class EmbeddingGeneratorTests
{
    static readonly string[] Texts = ["What is TSNE?", "Who is Laurens van der Maaten?", "A third, longer text about dimensionality reduction."];

    [Fact]
    public async Task TheGeneratorComesFromTheContainerAndHonoursDimensions()
    {
        using var folder = SentenceFolder.MeanNormalized(settings: new { prompts = new { query = "search_query: " } });
        var services = new ServiceCollection();
        services.AddSentenceEncoder(folder.Path, o => o.BatchSize = 2);
        await using ServiceProvider provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        var generator = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        SentenceEncoder encoder = provider.GetRequiredService<SentenceEncoder>();
        Assert.Same(encoder, generator.GetService<SentenceEncoder>());
        Assert.Equal(2, encoder.BatchSize);
        EmbeddingGeneratorMetadata metadata = generator.GetService<EmbeddingGeneratorMetadata>()!;
        Assert.Equal("encoderkit", metadata.ProviderName);
        Assert.Equal(64, metadata.DefaultModelDimensions);
        Assert.Equal(folder.Path, metadata.DefaultModelId);

        GeneratedEmbeddings<Embedding<float>> full = await generator.GenerateAsync(Texts);
        Assert.Equal(3, full.Count);
        float[][] direct = encoder.Encode(Texts);
        for (int i = 0; i < Texts.Length; i++) Assert.Equal(direct[i], full[i].Vector.ToArray());
        Assert.True(full.Usage?.InputTokenCount > 0);

        // Dimensions: the Matryoshka width, truncated then normalised.
        GeneratedEmbeddings<Embedding<float>> small = await generator.GenerateAsync(Texts, new EmbeddingGenerationOptions { Dimensions = 16 });
        float[][] truncated = encoder.Encode(Texts, options: new EmbedOptions { TruncateDim = 16 });
        for (int i = 0; i < Texts.Length; i++)
        {
            Assert.Equal(16, small[i].Dimensions);
            Assert.Equal(truncated[i], small[i].Vector.ToArray());
            Assert.Equal(1.0, Math.Sqrt(small[i].Vector.ToArray().Sum(x => (double)x * x)), 5);
        }

        // A prompt by name through the additional properties.
        var withPrompt = new EmbeddingGenerationOptions { AdditionalProperties = new() { ["prompt_name"] = "query" } };
        Embedding<float> queried = await generator.GenerateAsync(Texts[0], withPrompt);
        Assert.Equal(encoder.Encode(Texts[0], promptName: "query"), queried.Vector.ToArray());

        await Assert.ThrowsAsync<EncoderKitException>(() => generator.GenerateAsync(Texts, new EmbeddingGenerationOptions { Dimensions = 65 }));
        await Assert.ThrowsAsync<EncoderKitException>(() => generator.GenerateAsync(Texts, new EmbeddingGenerationOptions { ModelId = "another/model" }));
    }

    [Fact]
    public async Task TheContainerOwnsTheEncoderAndChecksItsOptions()
    {
        using var folder = SentenceFolder.MeanNormalized();
        var services = new ServiceCollection();
        services.AddSentenceEncoder(o =>
        {
            o.Model = folder.Path;
            o.TruncateDim = 32;
        });
        SentenceEncoder encoder;
        await using (ServiceProvider provider = services.BuildServiceProvider())
        {
            encoder = provider.GetRequiredService<SentenceEncoder>();
            Assert.Equal(32, encoder.Dimension);
            var generator = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
            generator.Dispose();   // the generator does not own the encoder
            Assert.Equal(32, encoder.Encode("still open").Length);
        }
        Assert.Throws<ObjectDisposedException>(() => encoder.Encode("closed with the container"));

        var unnamed = new ServiceCollection().AddSentenceEncoder().BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => unnamed.GetRequiredService<SentenceEncoder>());
        Assert.Contains("Model", error.Message);
    }
}
