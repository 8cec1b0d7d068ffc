using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace EncoderKit.Server;

/// <summary>TEI's error types, named as TEI serialises them; <see cref="Unauthorized"/> is ours (TEI answers 401 with no body).</summary>
public enum ApiErrorType { Unhealthy, Backend, Overloaded, Validation, Tokenizer, Empty, Unauthorized }

/// <summary>
/// A request the server refuses, with the status TEI gives it. Status codes live here and nowhere else: TEI maps
/// Validation to 413 (batch too large, input too long) and Tokenizer to 422; a body that is not the JSON a route
/// reads is 422 (axum's rejection of it), with TEI's error body rather than axum's plain text.
/// </summary>
public sealed class ApiError(ApiErrorType type, string message, string? field = null, int? status = null) : Exception(message)
{
    public ApiErrorType Type { get; } = type;
    public string? Field { get; } = field;

    public int Status { get; } = status ?? type switch
    {
        ApiErrorType.Unhealthy => StatusCodes.Status503ServiceUnavailable,
        ApiErrorType.Backend => StatusCodes.Status424FailedDependency,
        ApiErrorType.Overloaded => StatusCodes.Status429TooManyRequests,
        ApiErrorType.Tokenizer => StatusCodes.Status422UnprocessableEntity,
        ApiErrorType.Validation => StatusCodes.Status413PayloadTooLarge,
        ApiErrorType.Empty => StatusCodes.Status400BadRequest,
        ApiErrorType.Unauthorized => StatusCodes.Status401Unauthorized,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>A body that is not the JSON the route reads (syntax, types, missing fields).</summary>
    public static ApiError BadJson(string message, string? field = null) =>
        new(ApiErrorType.Validation, message, field, StatusCodes.Status422UnprocessableEntity);

    public static ApiError Overloaded() => new(ApiErrorType.Overloaded, "Model is overloaded");

    /// <summary>TEI's body: <c>{"error": "...", "error_type": "Validation"}</c>.</summary>
    public Task WriteTeiAsync(HttpResponse response) => WriteAsync(response, new Dictionary<string, object?>
    {
        ["error"] = Message,
        ["error_type"] = Type.ToString(),
    });

    /// <summary>OpenAI's body: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
    public Task WriteOpenAiAsync(HttpResponse response) => WriteAsync(response, new Dictionary<string, object?>
    {
        ["error"] = new Dictionary<string, object?>
        {
            ["message"] = Message,
            ["type"] = Type switch
            {
                ApiErrorType.Overloaded => "rate_limit_error",
                ApiErrorType.Unauthorized => "authentication_error",
                ApiErrorType.Backend or ApiErrorType.Unhealthy => "server_error",
                _ => "invalid_request_error",
            },
            ["param"] = Field,
            ["code"] = Type == ApiErrorType.Unauthorized ? "invalid_api_key" : Type.ToString().ToLowerInvariant(),
        },
    });

    async Task WriteAsync(HttpResponse response, object body)
    {
        response.StatusCode = Status;
        response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(response.Body, body);
    }
}
