using Microsoft.Extensions.AI;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>
/// A <see cref="SentenceEncoder"/> behind Microsoft.Extensions.AI's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>.
/// <see cref="EmbeddingGenerationOptions.Dimensions"/> is the Matryoshka width (truncate, then normalise when the
/// model normalises); <see cref="EmbeddingGenerationOptions.AdditionalProperties"/> may carry <c>prompt_name</c> or
/// <c>prompt</c>. A <see cref="EmbeddingGenerationOptions.ModelId"/> other than the encoder's is refused rather than ignored.
/// </summary>
public sealed class SentenceEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public const string PromptNameProperty = "prompt_name";
    public const string PromptProperty = "prompt";

    readonly bool _ownsEncoder;

    public SentenceEmbeddingGenerator(SentenceEncoder encoder, bool ownsEncoder = false)
    {
        Encoder = encoder ?? throw new ArgumentNullException(nameof(encoder));
        _ownsEncoder = ownsEncoder;
        Metadata = new EmbeddingGeneratorMetadata("encoderkit", null, encoder.ModelId, encoder.Dimension);
    }

    public SentenceEncoder Encoder { get; }

    public EmbeddingGeneratorMetadata Metadata { get; }

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        IReadOnlyList<string> texts = values as IReadOnlyList<string> ?? values.ToList();
        if (options?.ModelId is { } modelId && modelId != Encoder.ModelId)
            throw new EncoderKitException(ErrorKind.BadInput, $"this generator runs '{Encoder.ModelId}', not '{modelId}'", field: "ModelId");
        string? promptName = Property(options, PromptNameProperty);
        string? prompt = Property(options, PromptProperty);
        var embedOptions = new EmbedOptions { TruncateDim = options?.Dimensions };
        SentenceEncoder.Outcome outcome = await Encoder.EncodeTextsAsync(texts, promptName, prompt, embedOptions, cancellationToken).ConfigureAwait(false);
        DateTimeOffset created = DateTimeOffset.UtcNow;
        var embeddings = new GeneratedEmbeddings<Embedding<float>>(outcome.Embeddings.Length)
        {
            Usage = new UsageDetails { InputTokenCount = outcome.Tokens, TotalTokenCount = outcome.Tokens },
        };
        foreach (float[] vector in outcome.Embeddings)
            embeddings.Add(new Embedding<float>(vector) { ModelId = Encoder.ModelId, CreatedAt = created });
        return embeddings;
    }

    static string? Property(EmbeddingGenerationOptions? options, string name) =>
        options?.AdditionalProperties is { } properties && properties.TryGetValue(name, out object? value)
            ? value as string ?? throw new EncoderKitException(ErrorKind.BadInput, "must be a string", field: name)
            : null;

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata)) return Metadata;
        if (serviceType.IsInstanceOfType(this)) return this;
        if (serviceType.IsInstanceOfType(Encoder)) return Encoder;
        return null;
    }

    public void Dispose()
    {
        if (_ownsEncoder) Encoder.Dispose();
    }
}
