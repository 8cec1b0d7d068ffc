using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Server;
using EncoderKit.Tests.Embeddings;

namespace EncoderKit.Tests.Server;

/// <summary>
/// One small sentence-transformers model (the bert fixture, mean-pooled and normalised, with a "query" prompt) loaded
/// once per test class; each test starts its own server over it on a free loopback port.
/// </summary>
public sealed class ServedModel : IDisposable
{
    public ServedModel()
    {
        Folder = SentenceFolder.MeanNormalized("bert", settings: new { prompts = new Dictionary<string, string> { ["query"] = "search_query: " } });
        Encoder = SentenceEncoder.Load(Folder.Path);
    }

    public SentenceFolder Folder { get; }
    public SentenceEncoder Encoder { get; }

    public async Task<Served> StartAsync(Action<ServerOptions>? configure = null)
    {
        var options = new ServerOptions { Port = 0 };
        configure?.Invoke(options);
        EncoderServer server = await EncoderServer.StartAsync(Encoder, options);
        return new Served(server);
    }

    public void Dispose()
    {
        Encoder.Dispose();
        Folder.Dispose();
    }
}

/// <summary>A running server and a client pointed at it.</summary>
public sealed class Served(EncoderServer server) : IAsyncDisposable
{
    public EncoderServer Server { get; } = server;
    public HttpClient Client { get; } = new() { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(2) };

    public Task<HttpResponseMessage> PostAsync(string route, string json, string? apiKey = null, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, route) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (apiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return Client.SendAsync(request, cancellationToken);
    }

    public Task<HttpResponseMessage> PostAsync(string route, object body) => PostAsync(route, JsonSerializer.Serialize(body));

    /// <summary>Posts and parses the answer, asserting its status.</summary>
    public async Task<JsonElement> PostJsonAsync(string route, object body, int status = 200)
    {
        using HttpResponseMessage response = await PostAsync(route, body);
        return await ReadAsync(response, status);
    }

    public static async Task<JsonElement> ReadAsync(HttpResponseMessage response, int status)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.MediaType ?? "");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Asserts TEI's error body: exactly error and error_type.</summary>
    public static void AssertTeiError(JsonElement body, string errorType)
    {
        Assert.Equal(["error", "error_type"], body.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(errorType, body.GetProperty("error_type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("error").GetString()));
        Assert.DoesNotContain("   at ", body.GetProperty("error").GetString());
    }

    public static float[][] Vectors(JsonElement array) =>
        [.. array.EnumerateArray().Select(v => v.EnumerateArray().Select(x => x.GetSingle()).ToArray())];

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}
