using System.CommandLine;
using EncoderKit.Compute;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Server;
using Microsoft.Extensions.Logging;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// <c>encoderkit serve --model M [--port 8080] [--host 127.0.0.1]</c>: a TEI- and OpenAI-compatible embedding server.
/// Options keep TEI's names; each may also come from appsettings.json in the working folder or an environment
/// variable (<c>Serve__MaxBatchTokens</c>), the command line winning. Runs until Ctrl+C or SIGTERM, then finishes what
/// is in flight.
/// </summary>
static class ServeCommand
{
    public static Command Create(CliInvocation cli)
    {
        var command = new Command("serve", "Serve a model over HTTP with TEI's routes (embed, rerank, predict, …), fill-mask and OpenAI's /v1/embeddings.");
        var keys = new Dictionary<Option, string>();
        Add<string>(command, keys, "--model", nameof(ServerOptions.Model), "Model folder, or hub id (org/name[@revision])", "-m");
        var revision = new Option<string?>("--revision") { Description = "Branch, tag or commit of a hub id (default: main)" };
        command.Options.Add(revision);
        Add<string>(command, keys, "--host", nameof(ServerOptions.Host), "Address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)");
        Add<int>(command, keys, "--port", nameof(ServerOptions.Port), "Port to listen on (default 8080)", "-p");
        Add<int>(command, keys, "--max-batch-tokens", nameof(ServerOptions.MaxBatchTokens), "Padded tokens one batch may hold (default 16384)");
        Add<int>(command, keys, "--max-client-batch-size", nameof(ServerOptions.MaxClientBatchSize), "Inputs one request may carry (default 32)");
        Add<int>(command, keys, "--max-concurrent-requests", nameof(ServerOptions.MaxConcurrentRequests), "Requests in flight at once; more are answered 429 (default 512)");
        Add<int>(command, keys, "--max-input-length", nameof(ServerOptions.MaxInputLength), "Tokens an input may have (default: the model's max_seq_length)");
        Add<bool>(command, keys, "--auto-truncate", nameof(ServerOptions.AutoTruncate), "Truncate long inputs unless a request says truncate: false");
        Add<long>(command, keys, "--payload-limit", nameof(ServerOptions.PayloadLimit), "Request body bytes at most (default 2000000)");
        Add<string>(command, keys, "--api-key", nameof(ServerOptions.ApiKey), "Require Authorization: Bearer KEY on every route but /health");
        Add<string>(command, keys, "--pooling", nameof(ServerOptions.Pooling), "Pooling in place of the model's: cls, mean, last-token, max, weightedmean, mean_sqrt_len_tokens");
        Add<string>(command, keys, "--dtype", nameof(ServerOptions.Dtype), "float32 (default) or bfloat16");
        Add<int>(command, keys, "--threads", nameof(ServerOptions.Threads), "libtorch intra-op threads (default: one per core)");
        Add<string>(command, keys, "--served-model-name", nameof(ServerOptions.ServedModelName), "Model name /info and /v1/embeddings report (default: --model)");
        Add<string>(command, keys, "--default-prompt-name", nameof(ServerOptions.DefaultPromptName), "One of the model's prompts, for requests that name none");
        Add<string>(command, keys, "--default-prompt", nameof(ServerOptions.DefaultPrompt), "A literal prefix for requests that name no prompt");
        command.SetAction(async (parsed, cancellationToken) =>
        {
            // Only what the command line says overrides appsettings.json and the environment.
            var overrides = keys.Keys.Where(o => parsed.GetResult(o) is { Implicit: false })
                .Select(o => KeyValuePair.Create<string, string?>($"{ServerOptions.Section}:{keys[o]}", parsed.GetResult(o)!.Tokens.LastOrDefault()?.Value ?? "true"));
            ServerOptions options = EncoderServer.ReadOptions(Directory.GetCurrentDirectory(), cli.Environment, [.. overrides]);
            SentenceEncoderOptions encoderOptions = EncoderServer.EncoderOptions(options, cli.Notes);
            string folder = await DownloadProgressView.ResolveAsync(cli, encoderOptions.Model!, parsed.GetValue(revision), cli.Hub(), cancellationToken);
            using SentenceEncoder encoder = SentenceEncoder.Load(folder, encoderOptions);
            encoder.Encode(["warm-up"], cancellationToken: cancellationToken);   // first-call allocations before /health says ready
            await using EncoderServer server = await EncoderServer.StartAsync(encoder, options, new NotesProvider(cli.Notes), cancellationToken);
            // The kernels are the first thing to check when a CPU serves slower than it should (MklCpuDispatch).
            cli.Error.WriteLine($"encoderkit: serving {encoder.ModelId} on {server.Address} (MKL kernels: {MklCpuDispatch.KernelBranch()})");
            try
            {
                await server.WaitForShutdownAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM: disposing the server stops accepting and finishes what is in flight.
            }
            return 0;
        });
        return command;
    }

    /// <summary>An option whose value, when given, overrides configuration key Serve:<paramref name="key"/>.</summary>
    static Option<T> Add<T>(Command command, Dictionary<Option, string> keys, string name, string key, string description, params string[] aliases)
    {
        var option = new Option<T>(name, aliases) { Description = description };
        keys[option] = key;
        command.Options.Add(option);
        return option;
    }

    sealed class NotesProvider(ILogger notes) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => notes;

        public void Dispose()
        {
        }
    }
}
