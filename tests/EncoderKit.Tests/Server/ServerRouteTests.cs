using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Tests.Server;

/// <summary>
/// The server's routes against TEI's and OpenAI's documented JSON, on a real Kestrel listening on 127.0.0.1. A request
/// whose inputs run as one batch gets exactly the floats <see cref="SentenceEncoder.Encode(IReadOnlyList{string}, string?, string?, EmbedOptions?, CancellationToken)"/>
/// gives for the same inputs: same rows, same padding, same kernels.
/// </summary>
public class ServerRouteTests(ServedModel model) : IClassFixture<ServedModel>
{
    static readonly string[] Texts = ["The cat sat on the mat.", "A longer sentence about embeddings, servers and batching, with more tokens in it.", "Zürich café ☕"];

    SentenceEncoder Encoder => model.Encoder;

    [Fact]
    public async Task Embed_answers_a_list_of_vectors_equal_to_the_encoders()
    {
        await using Served served = await model.StartAsync();
        float[][] single = Served.Vectors(await served.PostJsonAsync("/embed", new { inputs = Texts[0] }));
        Assert.Single(single);
        Assert.Equal(Encoder.Encode([Texts[0]], options: new EmbedOptions { Normalize = true })[0], single[0]);

        float[][] many = Served.Vectors(await served.PostJsonAsync("/embed", new { inputs = Texts }));
        Assert.Equal(Encoder.Encode(Texts, options: new EmbedOptions { Normalize = true }), many);
    }

    [Fact]
    public async Task Embed_applies_prompt_name_dimensions_and_normalize_as_the_encoder_does()
    {
        await using Served served = await model.StartAsync();
        float[][] prompted = Served.Vectors(await served.PostJsonAsync("/embed", new { inputs = Texts, prompt_name = "query" }));
        Assert.Equal(Encoder.Encode(Texts, promptName: "query", options: new EmbedOptions { Normalize = true }), prompted);
        Assert.NotEqual(Encoder.Encode(Texts, options: new EmbedOptions { Normalize = true })[0], prompted[0]);

        float[][] narrow = Served.Vectors(await served.PostJsonAsync("/embed", new { inputs = Texts, dimensions = 16 }));
        Assert.All(narrow, v => Assert.Equal(16, v.Length));
        Assert.Equal(Encoder.Encode(Texts, options: new EmbedOptions { Normalize = true, TruncateDim = 16 }), narrow);

        float[][] raw = Served.Vectors(await served.PostJsonAsync("/embed", new { inputs = Texts, normalize = false }));
        Assert.Equal(Encoder.Encode(Texts, options: new EmbedOptions { Normalize = false }), raw);
        Assert.NotEqual(1.0, Math.Sqrt(raw[0].Sum(x => (double)x * x)), 3);
    }

    [Fact]
    public async Task Embed_truncates_only_when_asked()
    {
        await using Served served = await model.StartAsync(o => o.MaxInputLength = 8);
        string longText = string.Join(' ', Enumerable.Repeat("word", 40));
        using (HttpResponseMessage refused = await served.PostAsync("/embed", new { inputs = longText }))
            Served.AssertTeiError(await Served.ReadAsync(refused, 413), "Validation");

        float[][] right = Served.Vectors(await served.PostJsonAsync("/embed", new { inputs = longText, truncate = true }));
        using var eight = SentenceEncoder.Load(model.Folder.Path, new SentenceEncoderOptions { MaxSeqLength = 8 });
        Assert.Equal(eight.Encode([longText], options: new EmbedOptions { Normalize = true })[0], right[0]);

        float[][] left = Served.Vectors(await served.PostJsonAsync("/embed", new { inputs = "one two three " + longText, truncate = true, truncation_direction = "Left" }));
        Assert.Equal(right[0], left[0]);   // the last 6 word tokens are the same from the left as "word"×6 from the right
    }

    [Fact]
    public async Task V1_embeddings_answers_openais_shape_in_float_and_base64()
    {
        await using Served served = await model.StartAsync(o => o.ServedModelName = "my-model");
        float[][] expected = Encoder.Encode(Texts, options: new EmbedOptions { Normalize = true });
        JsonElement answer = await served.PostJsonAsync("/v1/embeddings", new { input = Texts, model = "whatever" });
        Assert.Equal(["data", "model", "object", "usage"], answer.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal("list", answer.GetProperty("object").GetString());
        Assert.Equal("my-model", answer.GetProperty("model").GetString());
        JsonElement[] data = [.. answer.GetProperty("data").EnumerateArray()];
        Assert.Equal(Texts.Length, data.Length);
        for (int i = 0; i < data.Length; i++)
        {
            Assert.Equal("embedding", data[i].GetProperty("object").GetString());
            Assert.Equal(i, data[i].GetProperty("index").GetInt32());
            Assert.Equal(expected[i], data[i].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray());
        }
        int tokens = Texts.Sum(t => Encoder.Tokenizer.Encode(t).Length);
        Assert.Equal(tokens, answer.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(tokens, answer.GetProperty("usage").GetProperty("total_tokens").GetInt32());

        JsonElement packed = await served.PostJsonAsync("/v1/embeddings", new { input = Texts[1], encoding_format = "base64", dimensions = 32 });
        byte[] bytes = Convert.FromBase64String(packed.GetProperty("data")[0].GetProperty("embedding").GetString()!);
        Assert.Equal(Encoder.Encode([Texts[1]], options: new EmbedOptions { Normalize = true, TruncateDim = 32 })[0], MemoryMarshal.Cast<byte, float>(bytes).ToArray());
    }

    [Fact]
    public async Task V1_embeddings_takes_token_id_arrays_as_given()
    {
        await using Served served = await model.StartAsync();
        int[] ids = Encoder.Tokenizer.Encode(Texts[0]).Ids;
        JsonElement answer = await served.PostJsonAsync("/v1/embeddings", new { input = new[] { ids, ids[..4] } });
        float[][] expected = Encoder.EncodeTokens([new(ids), new(ids[..4])], options: new EmbedOptions { Normalize = true });
        Assert.Equal(expected[0], answer.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray());
        Assert.Equal(expected[1], answer.GetProperty("data")[1].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray());
        Assert.Equal(ids.Length + 4, answer.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Embed_all_answers_each_tokens_hidden_state()
    {
        await using Served served = await model.StartAsync();
        JsonElement answer = await served.PostJsonAsync("/embed_all", new { inputs = Texts[..2] });
        Assert.Equal(2, answer.GetArrayLength());
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(Encoder.Tokenizer.Encode(Texts[i]).Length, answer[i].GetArrayLength());
            Assert.All(answer[i].EnumerateArray(), token => Assert.Equal(model.Folder.Hidden, token.GetArrayLength()));
        }
        // Mean pooling of those states, normalised, is the sentence embedding.
        float[][] states = Served.Vectors(answer[0]);
        double[] mean = [.. Enumerable.Range(0, model.Folder.Hidden).Select(d => states.Average(t => (double)t[d]))];
        double norm = Math.Sqrt(mean.Sum(x => x * x));
        float[] expected = Encoder.Encode(Texts[0]);
        for (int d = 0; d < expected.Length; d++) Assert.Equal(expected[d], mean[d] / norm, 5);
    }

    [Fact]
    public async Task Tokenize_answers_teis_tokens_with_utf8_byte_offsets()
    {
        await using Served served = await model.StartAsync();
        const string text = "Zürich café";
        JsonElement answer = await served.PostJsonAsync("/tokenize", new { inputs = text });
        JsonElement[] tokens = [.. answer[0].EnumerateArray()];
        Assert.All(tokens, t => Assert.Equal(["id", "special", "start", "stop", "text"], t.EnumerateObject().Select(p => p.Name).Order()));
        Assert.True(tokens[0].GetProperty("special").GetBoolean());
        Assert.Equal(JsonValueKind.Null, tokens[0].GetProperty("start").ValueKind);
        Assert.Equal("[CLS]", tokens[0].GetProperty("text").GetString());
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        foreach (JsonElement token in tokens.Where(t => !t.GetProperty("special").GetBoolean()))
        {
            int start = token.GetProperty("start").GetInt32(), stop = token.GetProperty("stop").GetInt32();
            Assert.Equal(token.GetProperty("text").GetString(), Encoding.UTF8.GetString(utf8, start, stop - start));
        }
        Assert.Equal(utf8.Length, tokens.Where(t => !t.GetProperty("special").GetBoolean()).Max(t => t.GetProperty("stop").GetInt32()));

        JsonElement bare = await served.PostJsonAsync("/tokenize", new { inputs = new[] { text, "a" }, add_special_tokens = false });
        Assert.Equal(2, bare.GetArrayLength());
        Assert.All(bare[0].EnumerateArray(), t => Assert.False(t.GetProperty("special").GetBoolean()));
    }

    [Fact]
    public async Task Decode_answers_one_string_per_id_list()
    {
        await using Served served = await model.StartAsync();
        int[] ids = Encoder.Tokenizer.Encode("The cat sat").Ids;
        JsonElement one = await served.PostJsonAsync("/decode", new { ids });
        Assert.Equal(["The cat sat"], one.EnumerateArray().Select(s => s.GetString()));
        JsonElement both = await served.PostJsonAsync("/decode", new { ids = new[] { ids, ids }, skip_special_tokens = false });
        Assert.Equal(Encoder.Tokenizer.Decode(ids, skipSpecialTokens: false), both[1].GetString());
        Assert.StartsWith("[CLS]", both[0].GetString());
    }

    [Fact]
    public async Task Health_and_info_describe_the_served_model()
    {
        await using Served served = await model.StartAsync(o => { o.MaxClientBatchSize = 7; o.ServedModelName = "m"; });
        using (HttpResponseMessage health = await served.Client.GetAsync("/health")) Assert.Equal(200, (int)health.StatusCode);
        using HttpResponseMessage response = await served.Client.GetAsync("/info");
        JsonElement info = await Served.ReadAsync(response, 200);
        Assert.Equal("m", info.GetProperty("model_id").GetString());
        Assert.Equal("mean", info.GetProperty("model_type").GetProperty("embedding").GetProperty("pooling").GetString());
        Assert.Equal(7, info.GetProperty("max_client_batch_size").GetInt32());
        Assert.Equal(Encoder.MaxSeqLength, info.GetProperty("max_input_length").GetInt32());
        Assert.Equal("search_query: ", info.GetProperty("prompts").GetProperty("query").GetString());
        foreach (string field in new[] { "model_sha", "model_dtype", "max_concurrent_requests", "max_batch_tokens", "max_batch_requests", "auto_truncate", "tokenization_workers", "version", "sha", "docker_label" })
            Assert.True(info.TryGetProperty(field, out _), field);
    }

    [Fact]
    public async Task Openapi_json_is_an_openapi_3_document_listing_every_route_the_server_answers()
    {
        await using Served served = await model.StartAsync();
        using HttpResponseMessage response = await served.Client.GetAsync("/openapi.json");
        JsonElement document = await Served.ReadAsync(response, 200);
        Assert.StartsWith("3.", document.GetProperty("openapi").GetString());
        Assert.False(string.IsNullOrEmpty(document.GetProperty("info").GetProperty("title").GetString()));
        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => (Path: path.Name, Method: op.Name.ToUpperInvariant(), Operation: op.Value))).ToList();
        string[] routes = ["POST /embed", "POST /embed_all", "POST /rerank", "POST /predict", "POST /fill-mask", "POST /tokenize", "POST /decode",
            "POST /v1/embeddings", "GET /info", "GET /health", "GET /metrics", "GET /openapi.json"];
        Assert.Equal(routes.Order(), operations.Select(o => $"{o.Method} {o.Path}").Order());
        foreach (var (path, method, operation) in operations)
        {
            Assert.False(string.IsNullOrEmpty(operation.GetProperty("summary").GetString()), path);
            Assert.True(operation.GetProperty("responses").TryGetProperty("200", out _), path);
            if (method == "POST")
                Assert.Equal(JsonValueKind.Object, operation.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema").ValueKind);
            // Every route the document lists is one the server answers (not 404 or 405), whatever it makes of an empty body.
            using HttpResponseMessage probe = await served.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)
                { Content = method == "POST" ? new StringContent("{}") : null });
            Assert.True((int)probe.StatusCode is not (404 or 405), $"{method} {path}: {(int)probe.StatusCode}");
        }
        Assert.Equal("#/components/schemas/ErrorResponse", document.GetProperty("paths").GetProperty("/embed").GetProperty("post").GetProperty("responses")
            .GetProperty("413").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        Assert.True(document.GetProperty("components").GetProperty("schemas").TryGetProperty("ErrorResponse", out _));
    }

    [Theory]
    [InlineData("/rerank", """{"query": "q", "texts": ["a"]}""")]
    [InlineData("/predict", """{"inputs": "a"}""")]
    public async Task Routes_of_task_heads_answer_424_for_an_embedding_model(string route, string body)
    {
        await using Served served = await model.StartAsync();
        using HttpResponseMessage response = await served.PostAsync(route, body);
        JsonElement error = await Served.ReadAsync(response, 424);
        Served.AssertTeiError(error, "Backend");
        Assert.Contains("sequence-classification head", error.GetProperty("error").GetString());
    }
}

/// <summary>/metrics in Prometheus' text format, its counters moving with the requests sent.</summary>
public class ServerMetricsTests(ServedModel model) : IClassFixture<ServedModel>
{
    static readonly System.Text.RegularExpressions.Regex Sample = new(@"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*=""[^""]*""(,[a-zA-Z_][a-zA-Z0-9_]*=""[^""]*"")*\})? [-+]?(\d+(\.\d+)?([eE][-+]?\d+)?|\+Inf|NaN)$");

    static async Task<Dictionary<string, double>> Scrape(Served served)
    {
        using HttpResponseMessage response = await served.Client.GetAsync("/metrics");
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var samples = new Dictionary<string, double>();
        foreach (string line in (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# TYPE ", StringComparison.Ordinal)) continue;
            Assert.Matches(Sample, line);
            int space = line.LastIndexOf(' ');
            samples[line[..space]] = double.Parse(line[(space + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
        return samples;
    }

    [Fact]
    public async Task Metrics_count_requests_under_teis_names_and_their_histograms_move_with_them()
    {
        await using Served served = await model.StartAsync(o => o.MaxClientBatchSize = 4);
        string[] texts = ["text zero", "text one two", "text three four five"];
        foreach (string text in texts) Assert.Single(Served.Vectors(await served.PostJsonAsync("/embed", new { inputs = text })));
        Assert.Equal(2, Served.Vectors(await served.PostJsonAsync("/embed", new { inputs = texts[..2] })).Length);
        using (HttpResponseMessage bad = await served.PostAsync("/embed", """{"inputs": []}""")) Assert.Equal(400, (int)bad.StatusCode);
        using (HttpResponseMessage tooMany = await served.PostAsync("/embed", """{"inputs": ["a", "b", "c", "d", "e"]}""")) Assert.Equal(413, (int)tooMany.StatusCode);
        Assert.Equal(1, (await served.PostJsonAsync("/embed_all", new { inputs = texts[0] })).GetArrayLength());
        Dictionary<string, double> samples = await Scrape(served);

        // TEI counts a computing request once its body is read, by input kind, then its success or its failure's cause.
        // An empty list reads as an empty id list, one input, as TEI's untagged input reads it.
        Assert.Equal(5, samples["te_request_count{method=\"single\"}"]);       // three /embed, the empty list, one /embed_all
        Assert.Equal(2, samples["te_request_count{method=\"batch\"}"]);        // the pair, the five
        Assert.Equal(4, samples["te_request_success{method=\"single\"}"]);
        Assert.Equal(1, samples["te_request_success{method=\"batch\"}"]);
        Assert.Equal(1, samples["te_request_failure{err=\"empty\"}"]);
        Assert.Equal(1, samples["te_request_failure{err=\"validation\"}"]);
        Assert.Equal(4, samples["te_http_requests_total{route=\"/embed\",status=\"200\"}"]);
        Assert.Equal(1, samples["te_http_requests_total{route=\"/embed\",status=\"400\"}"]);
        Assert.Equal(1, samples["te_http_requests_total{route=\"/embed\",status=\"413\"}"]);
        // Sent one after another, each ran as a batch of its own: five batches of one request.
        Assert.Equal(5, samples["te_batch_next_size_count"]);
        Assert.Equal(5, samples["te_batch_next_size_bucket{le=\"1\"}"]);
        long tokens = texts.Sum(t => model.Encoder.Tokenizer.Encode(t).Length) + texts[..2].Sum(t => model.Encoder.Tokenizer.Encode(t).Length)
            + model.Encoder.Tokenizer.Encode(texts[0]).Length;
        Assert.Equal(tokens, samples["te_batch_next_tokens_sum"]);
        Assert.Equal(0, samples["te_queue_size"]);
        foreach (string histogram in new[] { "te_request_duration", "te_request_tokenization_duration", "te_request_queue_duration", "te_request_inference_duration" })
        {
            Assert.Equal(5, samples[histogram + "_count"]);   // the successful computing requests
            Assert.Equal(5, samples[histogram + "_bucket{le=\"+Inf\"}"]);
        }
        Assert.True(samples["te_request_inference_duration_sum"] > 0);

        Assert.Single(Served.Vectors(await served.PostJsonAsync("/embed", new { inputs = "one more" })));
        Dictionary<string, double> after = await Scrape(served);
        Assert.Equal(6, after["te_request_count{method=\"single\"}"]);
        Assert.Equal(6, after["te_request_duration_count"]);
    }
}
