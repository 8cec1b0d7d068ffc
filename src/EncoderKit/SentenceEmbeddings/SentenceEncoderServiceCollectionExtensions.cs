using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>Registers a <see cref="SentenceEncoder"/> and its <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> with dependency injection.</summary>
public static class SentenceEncoderServiceCollectionExtensions
{
    /// <summary>
    /// Adds a singleton <see cref="SentenceEncoder"/>, loaded on first use from <see cref="SentenceEncoderOptions.Model"/>,
    /// and <see cref="IEmbeddingGenerator{String, Embedding}"/> over it. Options bind as usual
    /// (<c>services.Configure&lt;SentenceEncoderOptions&gt;(configuration.GetSection(…))</c> works as well as
    /// <paramref name="configure"/>). When no logger is set, one comes from the container's ILoggerFactory.
    /// The container disposes the encoder.
    /// </summary>
    public static IServiceCollection AddSentenceEncoder(this IServiceCollection services, Action<SentenceEncoderOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<SentenceEncoderOptions> options = services.AddOptions<SentenceEncoderOptions>();
        if (configure is not null) options.Configure(configure);
        options.Validate(o => !string.IsNullOrWhiteSpace(o.Model), "SentenceEncoderOptions.Model must name a model folder or hub id");
        options.Validate(o => o.BatchSize >= 1, "SentenceEncoderOptions.BatchSize must be at least 1");

        services.TryAddSingleton(provider =>
        {
            SentenceEncoderOptions o = provider.GetRequiredService<IOptions<SentenceEncoderOptions>>().Value;
            if (o.Logger is null && provider.GetService<ILoggerFactory>() is { } factory)
                o = Copy(o, factory.CreateLogger<SentenceEncoder>());
            // A synchronous factory: DI has no async construction. Loading runs on a pool thread, so no context is blocked.
            return Task.Run(() => SentenceEncoder.LoadAsync(o.Model!, o)).GetAwaiter().GetResult();
        });
        services.TryAddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(provider =>
            new SentenceEmbeddingGenerator(provider.GetRequiredService<SentenceEncoder>(), ownsEncoder: false));
        return services;
    }

    /// <summary>Shorthand for <see cref="AddSentenceEncoder(IServiceCollection, Action{SentenceEncoderOptions}?)"/> with a model.</summary>
    public static IServiceCollection AddSentenceEncoder(this IServiceCollection services, string model, Action<SentenceEncoderOptions>? configure = null) =>
        services.AddSentenceEncoder(o =>
        {
            o.Model = model;
            configure?.Invoke(o);
        });

    static SentenceEncoderOptions Copy(SentenceEncoderOptions o, ILogger logger) => new()
    {
        Model = o.Model, Revision = o.Revision, Compute = o.Compute, TruncateDim = o.TruncateDim, BatchSize = o.BatchSize, MaxBatchTokens = o.MaxBatchTokens,
        MaxSeqLength = o.MaxSeqLength, Hub = o.Hub, Logger = logger,
    };
}
