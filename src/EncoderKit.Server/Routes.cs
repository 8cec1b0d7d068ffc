using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using EncoderKit.Inference;
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
        RequestDelegate Tei(Func<JsonBody, Call, Task<object>> handle, bool compute = true, bool openAi = false) =>
            context => Answer(context, compute, openAi, handle, inference, logger);

        app.MapGet("/health", () => Results.Ok()).WithMetadata(OpenApi.Health);
        app.MapGet("/info", () => Results.Json(Info(inference))).WithMetadata(OpenApi.Info);
        app.MapGet("/metrics", () => Results.Text(inference.Metrics.Render(inference.Batcher.QueueSize), "text/plain; version=0.0.4")).WithMetadata(OpenApi.Metrics);
        app.MapGet("/openapi.json", () => Results.Text(OpenApi.Document(app.DataSources.SelectMany(d => d.Endpoints), inference.ModelName), "application/json"))
            .WithMetadata(OpenApi.Self);

        app.MapPost("/embed", Tei(async (body, call) =>
        {
            JsonElement field = body.Required("inputs");
            call.Received(JsonBody.IsList(field));
            (float[][] vectors, _) = await inference.EmbedAsync(JsonBody.Inputs(field, "inputs"), ReadSettings(body), body.Count("dimensions"), body.Bool("normalize", true), call.Aborted);
            return vectors;
        })).WithMetadata(OpenApi.Embed);

        app.MapPost("/embed_all", Tei(async (body, call) =>
        {
            JsonElement field = body.Required("inputs");
            call.Received(JsonBody.IsList(field));
            return await inference.EmbedAllAsync(JsonBody.Inputs(field, "inputs"), ReadSettings(body), call.Aborted);
        })).WithMetadata(OpenApi.EmbedAll);

        app.MapPost("/predict", Tei(async (body, call) =>
        {
            (IReadOnlyList<TextToClassify> inputs, bool batch) = JsonBody.PredictInputs(body.Required("inputs"), "inputs");
            call.Received(batch);
            IReadOnlyList<LabelScore>[] scores = await inference.PredictAsync(inputs, body.Bool("raw_scores", false), ReadSettings(body), call.Aborted);
            object[][] answers = [.. scores.Select(labels => labels.Select(l => (object)new Dictionary<string, object> { ["score"] = (float)l.Score, ["label"] = l.Label }).ToArray())];
            return batch ? answers : answers[0];
        })).WithMetadata(OpenApi.Predict);

        app.MapPost("/rerank", Tei(async (body, call) =>
        {
            string query = body.String("query") ?? throw ApiError.BadJson("missing field `query`", "query");
            IReadOnlyList<string> texts = JsonBody.TextList(body.Required("texts"), "texts");
            call.Received(batch: true);
            if (query.Length == 0) throw new ApiError(ApiErrorType.Empty, "`query` cannot be empty", "query");
            float[] scores = await inference.RerankAsync(query, texts, body.Bool("raw_scores", false), ReadSettings(body) with { Field = "texts" }, call.Aborted);
            bool returnText = body.Bool("return_text", false);
            return scores.Select((score, index) => (score, index)).OrderByDescending(r => r.score).Select(r =>
            {
                var rank = new Dictionary<string, object> { ["index"] = r.index, ["score"] = r.score };
                if (returnText) rank["text"] = texts[r.index];
                return rank;
            }).ToArray();
        })).WithMetadata(OpenApi.Rerank);

        app.MapPost("/fill-mask", Tei(async (body, call) =>
        {
            JsonElement field = body.Required("inputs");
            bool batch = JsonBody.IsList(field);
            call.Received(batch);
            var results = await inference.FillMaskAsync(JsonBody.Texts(field, "inputs"), body.Count("top_k") ?? 5, ReadSettings(body), call.Aborted);
            // Per text, as the pipeline (and `encoderkit fill-mask --json`): a list of candidates, or a list of such lists when the text has several masks.
            object[] shaped = [.. results.Select(masks =>
            {
                object[][] perMask = [.. masks.Select(candidates => candidates.Select(c => (object)new Dictionary<string, object>
                {
                    ["score"] = c.Score, ["token"] = c.Token, ["token_str"] = c.TokenStr, ["sequence"] = c.Sequence,
                }).ToArray())];
                return perMask.Length == 1 ? perMask[0] : (object)perMask;
            })];
            return batch ? shaped : shaped[0];
        })).WithMetadata(OpenApi.FillMask);

        app.MapPost("/tokenize", Tei(compute: false, handle: (body, _) =>
            Task.FromResult<object>(inference.TokenizeForDisplay(JsonBody.Texts(body.Required("inputs"), "inputs"), body.Bool("add_special_tokens", true),
                body.String("prompt_name")).Select(tokens => tokens.Select(t => new Dictionary<string, object?>
                {
                    ["id"] = t.Id, ["text"] = t.Text, ["special"] = t.Special, ["start"] = t.Start, ["stop"] = t.Stop,
                }).ToArray()).ToArray()))).WithMetadata(OpenApi.Tokenize);

        app.MapPost("/decode", Tei(compute: false, handle: (body, _) =>
            Task.FromResult<object>(inference.Decode(JsonBody.IdLists(body.Required("ids"), "ids"), body.Bool("skip_special_tokens", true)))))
            .WithMetadata(OpenApi.Decode);

        app.MapPost("/v1/embeddings", Tei(openAi: true, handle: async (body, call) =>
        {
            JsonElement field = body.Required("input");
            call.Received(JsonBody.IsList(field));
            IReadOnlyList<TextOrIds> inputs = JsonBody.Inputs(field, "input");
            string format = body.String("encoding_format") ?? "float";
            if (format is not ("float" or "base64"))
                throw ApiError.BadJson($"`encoding_format` must be \"float\" or \"base64\", not \"{format}\"", "encoding_format");
            (float[][] vectors, long tokens) = await inference.EmbedAsync(inputs, new InputSettings(Field: "input"), body.Count("dimensions"), normalize: true, call.Aborted);
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
        })).WithMetadata(OpenApi.OpenAiEmbeddings);
    }

    /// <summary>One request's cancellation, and how TEI counts it once its body is read.</summary>
    sealed class Call(CancellationToken aborted, ServerMetrics metrics)
    {
        public CancellationToken Aborted { get; } = aborted;

        /// <summary>"single" or "batch", once the handler has said which.</summary>
        public string? Method { get; private set; }

        public void Received(bool batch)
        {
            Method = batch ? "batch" : "single";
            metrics.Received(Method);
        }
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
        ["model_type"] = ModelType(inference),
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

    /// <summary>TEI's model_type: a one-label classifier is a reranker, more labels a classifier, else an embedding model.</summary>
    static Dictionary<string, object> ModelType(Inference inference)
    {
        if (inference.Labels is not { } labels)
            return new() { ["embedding"] = new Dictionary<string, string> { ["pooling"] = PoolingName(inference) } };
        var classes = new Dictionary<string, object>
        {
            ["id2label"] = labels.Select((l, i) => (l, i)).ToDictionary(p => p.i.ToString(System.Globalization.CultureInfo.InvariantCulture), p => p.l),
            ["label2id"] = labels.Select((l, i) => (l, i)).DistinctBy(p => p.l).ToDictionary(p => p.l, p => p.i),
        };
        return new() { [labels.Count == 1 ? "reranker" : "classifier"] = classes };
    }

    static string PoolingName(Inference inference)
    {
        var names = SentenceEmbeddings.PoolingConfig.ModeNames;
        return string.Join("+", inference.Encoder.Pooling.Modes.Select(m => names.FirstOrDefault(n => n.Value == m).Key ?? m.ToString().ToLowerInvariant()));
    }

    /// <summary>
    /// Runs one request: admission (429 when full), the body, the handler, the answer as JSON; every failure becomes
    /// the route's error body. Nothing of the server's internals (stack traces, types) reaches the client.
    /// </summary>
    static async Task Answer(HttpContext context, bool compute, bool openAi, Func<JsonBody, Call, Task<object>> handle,
        Inference inference, ILogger logger)
    {
        long start = Stopwatch.GetTimestamp();
        CancellationToken aborted = context.RequestAborted;
        var call = new Call(aborted, inference.Metrics);
        try
        {
            using IDisposable? permit = compute ? inference.Admit() : null;
            JsonBody body = await JsonBody.ReadAsync(context.Request, inference.Options.PayloadLimit, aborted);
            object result = await handle(body, call);
            if (call.Method is { } method) inference.Metrics.Succeeded(method, Stopwatch.GetElapsedTime(start).TotalSeconds);
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
            if (compute) inference.Metrics.Failure(error.Type switch
            {
                ApiErrorType.Overloaded => "overloaded",
                ApiErrorType.Tokenizer => "tokenization",
                ApiErrorType.Empty => "empty",
                ApiErrorType.Backend when e is ApiError => "model_type",
                ApiErrorType.Backend => "inference",
                _ => "validation",
            });
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
