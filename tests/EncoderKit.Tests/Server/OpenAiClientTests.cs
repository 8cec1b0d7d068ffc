using System.Diagnostics;
using System.Text.Json;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Tests.Server;

/// <summary>
/// OpenAI's own Node client (npm package openai, installed from the npm registry into a temporary folder) against
/// /v1/embeddings: it asks for base64 unless told otherwise and decodes it itself, so both encodings are exercised by
/// the code real users run. Needs node and npm on the PATH and the npm registry reachable.
/// </summary>
public class OpenAiClientTests(ServedModel model) : IClassFixture<ServedModel>
{
    const string Script = """
        import OpenAI from 'openai';
        const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: 'k', maxRetries: 0 });
        const input = JSON.parse(process.env.INPUTS);
        const packed = await client.embeddings.create({ model: 'served', input });
        const floats = await client.embeddings.create({ model: 'served', input, encoding_format: 'float' });
        let error = null;
        try { await client.embeddings.create({ model: 'served', input: [] }); }
        catch (e) { error = { status: e.status, type: e.type, param: e.param }; }
        console.log(JSON.stringify({
          packed: packed.data.map(d => Array.from(d.embedding)), floats: floats.data.map(d => d.embedding),
          usage: packed.usage, model: packed.model, error }));
        """;

    [Fact, Trait("speed", "slow")]
    public async Task The_official_openai_client_gets_the_encoders_embeddings()
    {
        using var folder = new TempFolder();
        await RunAsync("npm", folder.Path, [], "install", "openai@5", "--no-audit", "--no-fund", "--silent");
        File.WriteAllText(folder.File("client.mjs"), Script);
        string[] texts = ["The cat sat on the mat.", "Embeddings over HTTP, as OpenAI's client asks for them."];
        await using Served served = await model.StartAsync(o => { o.ApiKey = "k"; o.ServedModelName = "served"; });

        string output = await RunAsync("node", folder.Path,
            new() { ["BASE_URL"] = new Uri(served.Server.Address, "/v1").ToString(), ["INPUTS"] = JsonSerializer.Serialize(texts) }, "client.mjs");
        JsonElement answer = JsonDocument.Parse(output).RootElement;

        float[][] expected = model.Encoder.Encode(texts, options: new EmbedOptions { Normalize = true });
        Assert.Equal(expected, Served.Vectors(answer.GetProperty("packed")));
        Assert.Equal(expected, Served.Vectors(answer.GetProperty("floats")));
        Assert.Equal("served", answer.GetProperty("model").GetString());
        Assert.Equal(texts.Sum(t => model.Encoder.Tokenizer.Encode(t).Length), answer.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        JsonElement error = answer.GetProperty("error");
        Assert.Equal(400, error.GetProperty("status").GetInt32());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("input", error.GetProperty("param").GetString());
    }

    static async Task<string> RunAsync(string program, string folder, Dictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(), error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));   // a hang fails the test
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} exited {process.ExitCode}: {await error}");
        return await output;
    }
}
