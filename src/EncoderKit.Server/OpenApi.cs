using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace EncoderKit.Server;

/// <summary>
/// What /openapi.json says of one route: attached to the endpoint as metadata, so the document is made from the routes
/// actually mapped (a route mapped without one is still listed, by method and path).
/// </summary>
/// <param name="Request">JSON schema of the body; null for a route that reads none.</param>
/// <param name="Response">JSON schema of a 200 answer.</param>
/// <param name="Errors">Statuses answered with an error body.</param>
/// <param name="ContentType">Media type of a 200 answer.</param>
sealed record RouteDoc(string Summary, string? Request, string Response, int[] Errors, string ContentType = "application/json");

/// <summary>The OpenAPI 3 document of the server, generated from its endpoints.</summary>
/// <remarks>
/// Hand-made rather than Microsoft.AspNetCore.OpenApi's: its generator describes typed minimal-API handlers, and these
/// routes are plain request delegates (they read the body themselves, to answer TEI's statuses and error bodies).
/// </remarks>
static class OpenApi
{
    const string Texts = """{"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}""";
    const string Inputs = """{"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}, {"type": "array", "items": {"type": "integer"}}, {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "integer"}}]}}]}""";
    const string Truncation = "\"truncate\": {\"type\": \"boolean\"}, \"truncation_direction\": {\"type\": \"string\", \"enum\": [\"Left\", \"Right\"], \"default\": \"Right\"}";
    const string Vectors = """{"type": "array", "items": {"type": "array", "items": {"type": "number"}}}""";
    const string Labels = """{"type": "array", "items": {"type": "object", "properties": {"score": {"type": "number"}, "label": {"type": "string"}}}}""";
    const string Candidates = """{"type": "array", "items": {"type": "object", "properties": {"score": {"type": "number"}, "token": {"type": "integer"}, "token_str": {"type": "string"}, "sequence": {"type": "string"}}}}""";
    static readonly int[] ComputeErrors = [400, 401, 413, 422, 424, 429];
    static readonly int[] ReadErrors = [400, 401, 413, 422];

    public static readonly RouteDoc Health = new("Ready once the model is loaded and warmed up", null, """{"type": "object"}""", []);
    public static readonly RouteDoc Info = new("The served model and the server's limits (TEI's /info)", null, """{"type": "object"}""", [401]);
    public static readonly RouteDoc Metrics = new("Prometheus metrics under TEI's names", null, """{"type": "string"}""", [401], "text/plain");
    public static readonly RouteDoc Self = new("This document", null, """{"type": "object"}""", [401]);

    public static readonly RouteDoc Embed = new("Sentence embeddings (TEI)",
        """{"type": "object", "required": ["inputs"], "properties": {"inputs": @Inputs, "normalize": {"type": "boolean", "default": true}, @Truncation, "prompt_name": {"type": "string"}, "dimensions": {"type": "integer", "minimum": 1}}}""",
        Vectors, ComputeErrors);

    public static readonly RouteDoc EmbedAll = new("Every token's last hidden state (TEI)",
        """{"type": "object", "required": ["inputs"], "properties": {"inputs": @Inputs, @Truncation, "prompt_name": {"type": "string"}}}""",
        """{"type": "array", "items": @Vectors}""", ComputeErrors);

    public static readonly RouteDoc Predict = new("Sequence-classification scores of a text, a pair, or a list of them (TEI)",
        """{"type": "object", "required": ["inputs"], "properties": {"inputs": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}]}}]}, "raw_scores": {"type": "boolean", "default": false}, @Truncation}}""",
        """{"oneOf": [@Labels, {"type": "array", "items": @Labels}]}""", ComputeErrors);

    public static readonly RouteDoc Rerank = new("Texts ranked by a re-ranker's score against the query (TEI)",
        """{"type": "object", "required": ["query", "texts"], "properties": {"query": {"type": "string"}, "texts": {"type": "array", "items": {"type": "string"}}, "raw_scores": {"type": "boolean", "default": false}, "return_text": {"type": "boolean", "default": false}, @Truncation}}""",
        """{"type": "array", "items": {"type": "object", "required": ["index", "score"], "properties": {"index": {"type": "integer"}, "score": {"type": "number"}, "text": {"type": "string"}}}}""",
        ComputeErrors);

    public static readonly RouteDoc FillMask = new("The most probable tokens at each mask token (the fill-mask pipeline's JSON)",
        """{"type": "object", "required": ["inputs"], "properties": {"inputs": @Texts, "top_k": {"type": "integer", "minimum": 1, "default": 5}, @Truncation}}""",
        """{"oneOf": [@Candidates, {"type": "array", "items": {"oneOf": [@Candidates, {"type": "array", "items": @Candidates}]}}]}""", ComputeErrors);

    public static readonly RouteDoc Tokenize = new("Tokens with their UTF-8 byte offsets (TEI)",
        """{"type": "object", "required": ["inputs"], "properties": {"inputs": @Texts, "add_special_tokens": {"type": "boolean", "default": true}, "prompt_name": {"type": "string"}}}""",
        """{"type": "array", "items": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}, "text": {"type": "string"}, "special": {"type": "boolean"}, "start": {"type": "integer", "nullable": true}, "stop": {"type": "integer", "nullable": true}}}}}""",
        ReadErrors);

    public static readonly RouteDoc Decode = new("Texts from token ids (TEI)",
        """{"type": "object", "required": ["ids"], "properties": {"ids": {"oneOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}]}, "skip_special_tokens": {"type": "boolean", "default": true}}}""",
        """{"type": "array", "items": {"type": "string"}}""", ReadErrors);

    public static readonly RouteDoc OpenAiEmbeddings = new("Embeddings as OpenAI's API answers them",
        """{"type": "object", "required": ["input"], "properties": {"input": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}, {"type": "array", "items": {"type": "integer"}}, {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}]}, "model": {"type": "string"}, "encoding_format": {"type": "string", "enum": ["float", "base64"], "default": "float"}, "dimensions": {"type": "integer", "minimum": 1}}}""",
        """{"type": "object", "properties": {"object": {"type": "string"}, "data": {"type": "array", "items": {"type": "object", "properties": {"object": {"type": "string"}, "embedding": {"oneOf": [{"type": "array", "items": {"type": "number"}}, {"type": "string"}]}, "index": {"type": "integer"}}}}, "model": {"type": "string"}, "usage": {"type": "object", "properties": {"prompt_tokens": {"type": "integer"}, "total_tokens": {"type": "integer"}}}}}""",
        ComputeErrors);

    const string ErrorSchema = """{"type": "object", "required": ["error", "error_type"], "properties": {"error": {"type": "string"}, "error_type": {"type": "string", "enum": ["Unhealthy", "Backend", "Overloaded", "Validation", "Tokenizer", "Empty", "Unauthorized"]}}}""";
    const string OpenAiErrorSchema = """{"type": "object", "properties": {"error": {"type": "object", "properties": {"message": {"type": "string"}, "type": {"type": "string"}, "param": {"type": "string", "nullable": true}, "code": {"type": "string"}}}}}""";

    /// <summary>Every route endpoint among <paramref name="endpoints"/>, by path and method.</summary>
    public static string Document(IEnumerable<Endpoint> endpoints, string title)
    {
        var paths = new JsonObject();
        foreach (RouteEndpoint endpoint in endpoints.OfType<RouteEndpoint>().OrderBy(e => e.RoutePattern.RawText, StringComparer.Ordinal))
        {
            string path = endpoint.RoutePattern.RawText ?? "/";
            RouteDoc? doc = endpoint.Metadata.GetMetadata<RouteDoc>();
            var item = paths[path] as JsonObject ?? new JsonObject();
            paths[path] = item;
            foreach (string method in endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                item[method.ToLowerInvariant()] = Operation(doc, openAi: path.StartsWith("/v1/", StringComparison.Ordinal));
        }
        return new JsonObject
        {
            ["openapi"] = "3.0.3",
            ["info"] = new JsonObject
            {
                ["title"] = $"encoderkit serve: {title}",
                ["description"] = "Text-embeddings-inference's routes and OpenAI's /v1/embeddings",
                ["version"] = typeof(OpenApi).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
            },
            ["paths"] = paths,
            ["components"] = new JsonObject
            {
                ["schemas"] = new JsonObject { ["ErrorResponse"] = JsonNode.Parse(ErrorSchema), ["OpenAIErrorResponse"] = JsonNode.Parse(OpenAiErrorSchema) },
                ["securitySchemes"] = new JsonObject { ["bearer"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer" } },
            },
        }.ToJsonString();
    }

    static JsonObject Operation(RouteDoc? doc, bool openAi)
    {
        var responses = new JsonObject
        {
            ["200"] = new JsonObject
            {
                ["description"] = "OK",
                ["content"] = new JsonObject { [doc?.ContentType ?? "application/json"] = new JsonObject { ["schema"] = Schema(doc?.Response ?? "{}") } },
            },
        };
        string error = openAi ? "OpenAIErrorResponse" : "ErrorResponse";
        foreach (int status in doc?.Errors ?? [])
            responses[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["description"] = ReasonPhrase(status),
                ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = new JsonObject { ["$ref"] = $"#/components/schemas/{error}" } } },
            };
        var operation = new JsonObject { ["summary"] = doc?.Summary ?? "", ["responses"] = responses };
        if (doc?.Request is { } request)
            operation["requestBody"] = new JsonObject
            {
                ["required"] = true,
                ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = Schema(request) } },
            };
        return operation;
    }

    /// <summary>A schema, its @Name placeholders replaced by the shared parts above.</summary>
    static JsonNode? Schema(string json) => JsonNode.Parse(json.Replace("@Inputs", Inputs, StringComparison.Ordinal).Replace("@Texts", Texts, StringComparison.Ordinal)
        .Replace("@Truncation", Truncation, StringComparison.Ordinal).Replace("@Vectors", Vectors, StringComparison.Ordinal)
        .Replace("@Labels", Labels, StringComparison.Ordinal).Replace("@Candidates", Candidates, StringComparison.Ordinal));

    static string ReasonPhrase(int status) => status switch
    {
        400 => "Empty input (Empty)",
        401 => "Missing or wrong API key",
        413 => "Too many inputs, an input too long, a body over the payload limit (Validation)",
        422 => "A body that is not the route's JSON, or a tokenizer error (Validation, Tokenizer)",
        424 => "The model cannot compute this (Backend)",
        429 => "Past --max-concurrent-requests (Overloaded)",
        _ => $"status {status}",
    };
}
