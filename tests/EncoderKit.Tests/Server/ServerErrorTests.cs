using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace EncoderKit.Tests.Server;

/// <summary>Bad input, limits and keys: each gets TEI's status and error body (OpenAI's on /v1), and the server serves on.</summary>
public class ServerErrorTests(ServedModel model) : IClassFixture<ServedModel>
{
    // TEI's statuses: Validation 413 (too many inputs, too long, unknown prompt), Empty 400, Tokenizer 422; a body
    // that is not the route's JSON 422.
    [Theory]
    [InlineData("""{"inputs": []}""", 400, "Empty")]
    [InlineData("""{"inputs": ""}""", 400, "Empty")]
    [InlineData("""{"inputs": [""]}""", 400, "Empty")]
    [InlineData("""{"inputs": ["a", "b", "c", "d"]}""", 413, "Validation")]
    [InlineData("""{"inputs": "a", "prompt_name": "nope"}""", 413, "Validation")]
    [InlineData("""{"inputs": "a", "dimensions": 100000}""", 413, "Validation")]
    [InlineData("""{"inputs": "a", "dimensions": 0}""", 413, "Validation")]
    [InlineData("""{"inputs": "a", "dimensions": -3}""", 422, "Validation")]
    [InlineData("""{"inputs": "a", "dimensions": "8"}""", 422, "Validation")]
    [InlineData("""{"inputs": [99999999]}""", 422, "Tokenizer")]
    [InlineData("""{"inputs": [1e30]}""", 422, "Validation")]
    [InlineData("""{"inputs": [-1]}""", 422, "Validation")]
    [InlineData("""{"inputs": 5}""", 422, "Validation")]
    [InlineData("""{"inputs": [["a"]]}""", 422, "Validation")]
    [InlineData("""{"inputs": {"text": "a"}}""", 422, "Validation")]
    [InlineData("""{"inputs": "a", "normalize": "yes"}""", 422, "Validation")]
    [InlineData("""{"inputs": "a", "truncation_direction": "Up"}""", 422, "Validation")]
    [InlineData("""{"text": "a"}""", 422, "Validation")]
    [InlineData("""["a"]""", 422, "Validation")]
    [InlineData("""{"inputs": "a" """, 422, "Validation")]
    [InlineData("""{"inputs": "\ud800"}""", 422, "Validation")]
    [InlineData("", 422, "Validation")]
    public async Task Embed_refuses_bad_input_with_teis_status_and_body(string body, int status, string errorType)
    {
        await using Served served = await model.StartAsync(o => o.MaxClientBatchSize = 3);
        using (HttpResponseMessage response = await served.PostAsync("/embed", body))
            Served.AssertTeiError(await Served.ReadAsync(response, status), errorType);
        Assert.Single(Served.Vectors(await served.PostJsonAsync("/embed", new { inputs = "still serving" })));
    }

    [Fact]
    public async Task Invalid_utf8_bytes_are_a_422()
    {
        await using Served served = await model.StartAsync();
        var content = new ByteArrayContent([.. "{\"inputs\": \""u8.ToArray(), 0xC3, 0x28, .. "\"}"u8.ToArray()]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using HttpResponseMessage response = await served.Client.PostAsync("/embed", content);
        Served.AssertTeiError(await Served.ReadAsync(response, 422), "Validation");
    }

    [Fact]
    public async Task A_body_over_the_payload_limit_is_a_413()
    {
        await using Served served = await model.StartAsync(o => o.PayloadLimit = 1000);
        string big = JsonSerializer.Serialize(new { inputs = new string('a', 2000) });
        using (HttpResponseMessage response = await served.PostAsync("/embed", big))
            Served.AssertTeiError(await Served.ReadAsync(response, 413), "Validation");
        // Chunked, so no Content-Length warns the server: the limit holds while reading.
        var chunked = new HttpRequestMessage(HttpMethod.Post, "/embed") { Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big))) };
        chunked.Headers.TransferEncodingChunked = true;
        chunked.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using (HttpResponseMessage response = await served.Client.SendAsync(chunked))
            Served.AssertTeiError(await Served.ReadAsync(response, 413), "Validation");
    }

    [Theory]
    [InlineData("""{"input": "a", "encoding_format": "int8"}""", 422, "encoding_format")]
    [InlineData("""{"input": []}""", 400, "input")]
    [InlineData("""{"inputs": "a"}""", 422, "input")]
    [InlineData("""{"input": "a", "dimensions": 100000}""", 413, "dimensions")]
    public async Task V1_embeddings_refuses_bad_input_in_openais_error_shape(string body, int status, string param)
    {
        await using Served served = await model.StartAsync();
        using HttpResponseMessage response = await served.PostAsync("/v1/embeddings", body);
        JsonElement error = (await Served.ReadAsync(response, status)).GetProperty("error");
        Assert.Equal(["code", "message", "param", "type"], error.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task An_api_key_guards_every_route_but_health()
    {
        await using Served served = await model.StartAsync(o => o.ApiKey = "s3cret");
        using (HttpResponseMessage missing = await served.PostAsync("/embed", """{"inputs": "a"}"""))
            Served.AssertTeiError(await Served.ReadAsync(missing, 401), "Unauthorized");
        using (HttpResponseMessage wrong = await served.PostAsync("/embed", """{"inputs": "a"}""", apiKey: "s3cre"))
            Served.AssertTeiError(await Served.ReadAsync(wrong, 401), "Unauthorized");
        using (HttpResponseMessage openAi = await served.PostAsync("/v1/embeddings", """{"input": "a"}""", apiKey: "nope"))
            Assert.Equal("invalid_api_key", (await Served.ReadAsync(openAi, 401)).GetProperty("error").GetProperty("code").GetString());
        using (HttpResponseMessage info = await served.Client.GetAsync("/info")) Assert.Equal(401, (int)info.StatusCode);
        using (HttpResponseMessage health = await served.Client.GetAsync("/health")) Assert.Equal(200, (int)health.StatusCode);
        using HttpResponseMessage right = await served.PostAsync("/embed", """{"inputs": "a"}""", apiKey: "s3cret");
        Assert.Single(Served.Vectors(await Served.ReadAsync(right, 200)));
    }
}
