using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using EncoderKit.Compute;
using EncoderKit.SentenceEmbeddings;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EncoderKit.Server;

/// <summary>
/// The HTTP server over one loaded <see cref="SentenceEncoder"/>: Kestrel on <see cref="ServerOptions.Host"/>:<see cref="ServerOptions.Port"/>,
/// TEI's routes and OpenAI's /v1/embeddings. Disposing it stops accepting, lets what is in flight finish, then stops the
/// batcher; the encoder stays the caller's.
/// </summary>
public sealed class EncoderServer : IAsyncDisposable
{
    const string LogCategory = "EncoderKit.Server";

    readonly WebApplication _app;
    readonly Inference _inference;

    EncoderServer(WebApplication app, Inference inference, Uri address)
    {
        _app = app;
        _inference = inference;
        Address = address;
    }

    /// <summary>Where the server listens (the port Kestrel picked when asked for 0).</summary>
    public Uri Address { get; }

    public Inference Inference => _inference;

    /// <summary>
    /// The options from appsettings.json in <paramref name="contentRoot"/>, then environment variables (Serve__Port, as
    /// ASP.NET Core names them), then <paramref name="overrides"/> (the command line).
    /// </summary>
    /// <param name="environment">The variables to read (the CLI passes its invocation's); only Serve__* ones count.</param>
    public static ServerOptions ReadOptions(string contentRoot, IEnumerable<KeyValuePair<string, string?>> environment,
        IEnumerable<KeyValuePair<string, string?>> overrides)
    {
        string prefix = ServerOptions.Section + "__";
        IConfiguration configuration = new ConfigurationBuilder()
            .SetBasePath(contentRoot)
            .AddJsonFile("appsettings.json", optional: true)
            .AddInMemoryCollection(environment.Where(v => v.Key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                .Select(v => KeyValuePair.Create(v.Key.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal), v.Value)))
            .AddInMemoryCollection(overrides)
            .Build();
        var options = new ServerOptions();
        configuration.GetSection(ServerOptions.Section).Bind(options);
        options.Check();
        return options;
    }

    /// <summary>How to load <see cref="ServerOptions.Model"/> as the server runs it (dtype, threads, batch budget).</summary>
    public static SentenceEncoderOptions EncoderOptions(ServerOptions options, ILogger? logger) => new()
    {
        Model = options.Model ?? throw new EncoderKitException(ErrorKind.BadInput, "no model given", field: "--model"),
        MaxBatchTokens = options.MaxBatchTokens,
        Pooling = options.Pooling switch
        {
            null => null,
            "last-token" => PoolingMode.LastToken,
            "splade" => throw new EncoderKitException(ErrorKind.BadInput, "SPLADE pooling is not supported; use cls, mean, last-token, max, weightedmean or mean_sqrt_len_tokens", field: "--pooling"),
            string name => PoolingConfig.ModeNames.TryGetValue(name.ToLowerInvariant(), out PoolingMode mode) ? mode
                : throw new EncoderKitException(ErrorKind.BadInput, $"unknown pooling '{name}' (use cls, mean, last-token, max, weightedmean or mean_sqrt_len_tokens)", field: "--pooling"),
        },
        Logger = logger,
        Compute = new ComputeOptions
        {
            Threads = options.Threads,
            Logger = logger,
            Dtype = options.Dtype switch
            {
                null => null,
                "float32" or "fp32" => ComputeDtype.Float32,
                "bfloat16" or "bf16" => ComputeDtype.BFloat16,
                string other => throw new EncoderKitException(ErrorKind.BadInput, $"unknown dtype '{other}' (use float32 or bfloat16)", field: "--dtype"),
            },
        },
    };

    /// <summary>Starts serving <paramref name="encoder"/>; returns once Kestrel listens.</summary>
    public static async Task<EncoderServer> StartAsync(SentenceEncoder encoder, ServerOptions options, ILoggerProvider? logs = null,
        CancellationToken cancellationToken = default)
    {
        var inference = new Inference(encoder, options);
        try
        {
            WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
            builder.Logging.ClearProviders();
            if (logs is not null) builder.Logging.AddProvider(logs);
            // One line per request is ours; ASP.NET Core's own chatter only from warnings up.
            builder.Logging.AddFilter((category, level) => category == LogCategory || level >= LogLevel.Warning);
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Limits.MaxRequestBodySize = options.PayloadLimit;
                kestrel.AddServerHeader = false;
                if (options.Host == "localhost") kestrel.ListenLocalhost(options.Port);
                else if (IPAddress.TryParse(options.Host, out IPAddress? ip)) kestrel.Listen(ip, options.Port);
                else throw new EncoderKitException(ErrorKind.BadInput, $"'{options.Host}' is not an IP address or localhost", field: "--host");
            });
            WebApplication app = builder.Build();
            ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategory);
            app.Use(async (context, next) =>
            {
                long start = Stopwatch.GetTimestamp();
                // Counted as the answer starts, so a client that has read its answer finds it in /metrics.
                context.Response.OnStarting(() =>
                {
                    string route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
                    inference.Metrics.Answered(route, context.Response.StatusCode);
                    return Task.CompletedTask;
                });
                await next(context);
                logger.LogInformation("{Method} {Path} {Status} {Milliseconds:F1} ms", context.Request.Method, context.Request.Path,
                    context.Response.StatusCode, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            });
            if (options.ApiKey is { } key) app.Use(RequireKey(key));
            Routes.Map(app, inference, logger);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new EncoderServer(app, inference, new Uri(address));
        }
        catch
        {
            await inference.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Every route but /health needs <c>Authorization: Bearer key</c>, compared in constant time.</summary>
    static Func<HttpContext, RequestDelegate, Task> RequireKey(string key)
    {
        byte[] expected = Encoding.UTF8.GetBytes("Bearer " + key);
        return (context, next) =>
        {
            if (context.Request.Path == "/health") return next(context);
            byte[] given = Encoding.UTF8.GetBytes(context.Request.Headers.Authorization.ToString());
            if (CryptographicOperations.FixedTimeEquals(given, expected)) return next(context);
            context.Response.Headers.WWWAuthenticate = "Bearer";
            var error = new ApiError(ApiErrorType.Unauthorized, "a valid API key is needed: Authorization: Bearer <key>");
            return context.Request.Path.StartsWithSegments("/v1") ? error.WriteOpenAiAsync(context.Response) : error.WriteTeiAsync(context.Response);
        };
    }

    /// <summary>Until the host stops (Ctrl+C, SIGTERM) or <paramref name="cancellationToken"/> is cancelled.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _inference.DisposeAsync().ConfigureAwait(false);
    }
}
