using System.Runtime.InteropServices;
using System.Text.Json;
using EncoderKit.Tokenization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace EncoderKit.Server;

/// <summary>
/// TEI's routes and OpenAI's /v1/embeddings: each reads its body, asks <see cref="Inference"/>, and writes the answer
/// in the shape its standard documents. Errors go out through one place, <see cref="Answer"/>, in the route's shape.
/// </summary>
static class Routes
{
    public static void Map(IEndpointRouteBuilder app, Inference inference, ILogger logger)
    {
        ServerOptions options = inference.Options;
        RequestDelegate Tei(bool compute, Func<JsonBody, CancellationToken, Task<object>> handle) =>
            context => Answer(context, compute, openAi: false, handle, inference, logger);

        app.MapGet("/health", () => Results.Ok());
        app.MapGet("/info", () => Results.Json(Info(inference)));
        app.MapGet("/metrics", () => Results.Text(inference.Metrics.Render(inference.Batcher.QueueSize), "text/plain; version=0.0.4"));

        app.MapPost("/embed", Tei(compute: true, async (body, ct) =>
        {
            IReadOnlyList<TextOrIds> inputs = JsonBody.Inputs(body.Required("inputs"), "inputs");
            (float[][] vectors, _) = await inference.EmbedAsync(inputs, ReadSettings(body), body.Count("dimensions"), body.Bool("normalize", true), ct);
            return vectors;
        }));

        app.MapPost("/embed_all", Tei(compute: true, async (body, ct) =>
            await inference.EmbedAllAsync(JsonBody.Inputs(body.Required("inputs"), "inputs"), ReadSettings(body), ct)));

        app.MapPost("/tokenize", Tei(compute: false, (body, _) =>
            Task.FromResult<object>(inference.TokenizeForDisplay(JsonBody.Texts(body.Required("inputs"), "inputs"), body.Bool("add_special_tokens", true),
                body.String("prompt_name")).Select(tokens => tokens.Select(t => new Dictionary<string, object?>
                {
                    ["id"] = t.Id, ["text"] = t.Text, ["special"] = t.Special, ["start"] = t.Start, ["stop"] = t.Stop,
                }).ToArray()).ToArray())));

        app.MapPost("/decode", Tei(compute: false, (body, _) =>
            Task.FromResult<object>(inference.Decode(JsonBody.IdLists(body.Required("ids"), "ids"), body.Bool("skip_special_tokens", true)))));

        // The task heads land later: until a model has one, these answer as TEI does for a model without it.
        foreach (string route in new[] { "/rerank", "/predict" })
        {
            string what = route == "/rerank" ? "rerank" : "predict";
            app.MapPost(route, Tei(compute: false, (_, _) =>
                throw new ApiError(ApiErrorType.Backend, $"`{what}` is not available: the model has no classification head (it is an embedding model)")));
        }

        app.MapPost("/v1/embeddings", context => Answer(context, compute: true, openAi: true, async (JsonBody body, CancellationToken ct) =>
        {
            IReadOnlyList<TextOrIds> inputs = JsonBody.Inputs(body.Required("input"), "input");
            string format = body.String("encoding_format") ?? "float";
            if (format is not ("float" or "base64"))
                throw ApiError.BadJson($"`encoding_format` must be \"float\" or \"base64\", not \"{format}\"", "encoding_format");
            (float[][] vectors, long tokens) = await inference.EmbedAsync(inputs, new InputSettings(Field: "input"), body.Count("dimensions"), normalize: true, ct);
            return new Dictionary<string, object>
            {
                ["object"] = "list",
                ["data"] = vectors.Select((v, i) => new Dictionary<string, object>
                {
                    ["object"] = "embedding",
                    ["embedding"] = format == "base64" ? Convert.ToBase64String(MemoryMarshal.AsBytes(v.AsSpan())) : v,
                    ["index"] = i,
                }).ToArray(),
                ["model"] = inference.ModelName,
                ["usage"] = new Dictionary<string, long> { ["prompt_tokens"] = tokens, ["total_tokens"] = tokens },
            };
        }, inference, logger));
    }

    static InputSettings ReadSettings(JsonBody body) => new(
        body.Field("truncate") is null ? null : body.Bool("truncate", false),
        body.String("truncation_direction") switch
        {
            null or "Right" or "right" => TruncationSide.Right,
            "Left" or "left" => TruncationSide.Left,
            string other => throw ApiError.BadJson($"`truncation_direction` must be \"Left\" or \"Right\", not \"{other}\"", "truncation_direction"),
        },
        body.String("prompt_name"));

    static Dictionary<string, object?> Info(Inference inference) => new()
    {
        ["model_id"] = inference.ModelName,
        ["model_sha"] = null,
        ["model_dtype"] = inference.Encoder.ComputeDescription.Split('/')[^1].ToLowerInvariant(),
        ["model_type"] = new Dictionary<string, object> { ["embedding"] = new Dictionary<string, string> { ["pooling"] = PoolingName(inference) } },
        ["prompts"] = inference.Encoder.Prompts.Count == 0 ? null : inference.Encoder.Prompts,
        ["max_concurrent_requests"] = inference.Options.MaxConcurrentRequests,
        ["max_input_length"] = inference.MaxInputLength,
        ["max_batch_tokens"] = inference.Options.MaxBatchTokens,
        ["max_batch_requests"] = null,
        ["max_client_batch_size"] = inference.Options.MaxClientBatchSize,
        ["auto_truncate"] = inference.Options.AutoTruncate,
        ["tokenization_workers"] = 1,
        ["version"] = typeof(Routes).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
        ["sha"] = null,
        ["docker_label"] = null,
    };

    static string PoolingName(Inference inference)
    {
        var names = SentenceEmbeddings.PoolingConfig.ModeNames;
        return string.Join("+", inference.Encoder.Pooling.Modes.Select(m => names.FirstOrDefault(n => n.Value == m).Key ?? m.ToString().ToLowerInvariant()));
    }

    /// <summary>
    /// Runs one request: admission (429 when full), the body, the handler, the answer as JSON; every failure becomes
    /// the route's error body. Nothing of the server's internals (stack traces, types) reaches the client.
    /// </summary>
    static async Task Answer(HttpContext context, bool compute, bool openAi, Func<JsonBody, CancellationToken, Task<object>> handle,
        Inference inference, ILogger logger)
    {
        CancellationToken aborted = context.RequestAborted;
        try
        {
            using IDisposable? permit = compute ? inference.Admit() : null;
            JsonBody body = await JsonBody.ReadAsync(context.Request, inference.Options.PayloadLimit, aborted);
            object result = await handle(body, aborted);
            context.Response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(context.Response.Body, result, result.GetType(), cancellationToken: aborted);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away: nobody is left to answer.
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            ApiError error = e switch
            {
                ApiError api => api,
                BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
                    new ApiError(ApiErrorType.Validation, $"the request body is larger than the payload limit of {inference.Options.PayloadLimit} bytes", status: 413),
                BadHttpRequestException bad => ApiError.BadJson($"the request could not be read: {bad.Message}"),
                EncoderKitException { Kind: ErrorKind.BadInput } bad => new ApiError(ApiErrorType.Validation, bad.Problem, bad.Field, StatusCodes.Status422UnprocessableEntity),
                _ => new ApiError(ApiErrorType.Backend, "the model failed to compute this request; the server log has the details"),
            };
            if (error.Type == ApiErrorType.Backend && e is not ApiError) logger.LogError(e, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
            // A body refused unread cannot be drained on this connection: say so, and send the answer before it closes.
            bool refusedUnread = error.Status == StatusCodes.Status413PayloadTooLarge;
            if (refusedUnread) context.Response.Headers.Connection = "close";
            if (openAi) await error.WriteOpenAiAsync(context.Response);
            else await error.WriteTeiAsync(context.Response);
            if (refusedUnread) await context.Response.CompleteAsync();
        }
    }
}
