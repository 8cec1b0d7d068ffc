using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Server;
using EncoderKit.Tests.Cli;
using EncoderKit.Tests.Embeddings;

namespace EncoderKit.Tests.Server;

/// <summary>`encoderkit serve` itself, and where its options come from.</summary>
public class ServeCommandTests
{
    [Fact]
    public void Options_come_from_appsettings_then_environment_then_the_command_line()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("appsettings.json"), """{"Serve": {"MaxBatchTokens": 111, "MaxClientBatchSize": 5, "ApiKey": "from-file", "Port": 1}}""");
        ServerOptions options = EncoderServer.ReadOptions(folder.Path,
            [KeyValuePair.Create<string, string?>("Serve__MaxClientBatchSize", "6"), KeyValuePair.Create<string, string?>("Serve__Port", "2"),
             KeyValuePair.Create<string, string?>("MaxBatchTokens", "999")],
            [KeyValuePair.Create<string, string?>("Serve:Port", "3")]);
        Assert.Equal(111, options.MaxBatchTokens);   // a variable without the Serve__ prefix is not the server's
        Assert.Equal(6, options.MaxClientBatchSize);
        Assert.Equal("from-file", options.ApiKey);
        Assert.Equal(3, options.Port);
        Assert.Equal("127.0.0.1", options.Host);
    }

    [Theory]
    [InlineData("Serve:MaxBatchTokens", "0", "--max-batch-tokens")]
    [InlineData("Serve:Port", "70000", "--port")]
    [InlineData("Serve:PayloadLimit", "-1", "--payload-limit")]
    public void Options_out_of_range_are_refused_naming_the_option(string key, string value, string option)
    {
        using var folder = new TempFolder();
        var error = Assert.Throws<EncoderKitException>(() => EncoderServer.ReadOptions(folder.Path, [], [KeyValuePair.Create<string, string?>(key, value)]));
        Assert.Equal(option, error.Field);
    }

    [Theory]
    [InlineData("cls", "cls")]
    [InlineData("last-token", "lasttoken")]
    [InlineData("max", "max")]
    public async Task Pooling_overrides_the_models_pooling(string option, string folderMode)
    {
        using var meanFolder = SentenceFolder.MeanNormalized("bert");
        ServerOptions options = EncoderServer.ReadOptions(meanFolder.Path, [], [KeyValuePair.Create<string, string?>("Serve:Pooling", option),
            KeyValuePair.Create<string, string?>("Serve:Port", "0"), KeyValuePair.Create<string, string?>("Serve:Model", meanFolder.Path)]);
        using SentenceEncoder overridden = SentenceEncoder.Load(meanFolder.Path, EncoderServer.EncoderOptions(options, null));
        using var pooledFolder = new SentenceFolder("bert").Modules(("2_Normalize", "Normalize")).ClassicPooling(folderMode);
        using SentenceEncoder pooled = SentenceEncoder.Load(pooledFolder.Path);
        using SentenceEncoder mean = SentenceEncoder.Load(meanFolder.Path);
        string[] texts = ["The cat sat on the mat.", "Zürich café"];

        await using Served served = new(await EncoderServer.StartAsync(overridden, options));
        float[][] got = Served.Vectors(await served.PostJsonAsync("/embed", new { inputs = texts }));
        Assert.Equal(pooled.Encode(texts), got);
        Assert.NotEqual(mean.Encode(texts)[0], got[0]);
        using HttpResponseMessage info = await served.Client.GetAsync("/info");
        Assert.Equal(folderMode, (await Served.ReadAsync(info, 200)).GetProperty("model_type").GetProperty("embedding").GetProperty("pooling").GetString());
    }

    [Theory]
    [InlineData("splade")]
    [InlineData("median")]
    public void A_pooling_the_server_cannot_run_is_refused_naming_the_option(string pooling)
    {
        var error = Assert.Throws<EncoderKitException>(() => EncoderServer.EncoderOptions(new ServerOptions { Model = "m", Pooling = pooling }, null));
        Assert.Equal("--pooling", error.Field);
    }

    [Fact]
    public async Task Serve_answers_on_its_port_with_settings_from_the_environment_and_stops_when_cancelled()
    {
        using var model = SentenceFolder.MeanNormalized("bert");
        int port = FreePort();
        using var stop = new CancellationTokenSource();
        Task<CliRunner.Result> run = CliRunner.RunAsync(["serve", "--model", model.Path, "--port", port.ToString(), "--api-key", "k"],
            environment: new Dictionary<string, string?> { ["Serve__MaxClientBatchSize"] = "2", ["HF_HUB_OFFLINE"] = "1" }, cancellationToken: stop.Token);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        client.DefaultRequestHeaders.Authorization = new("Bearer", "k");
        await WaitForHealth(client, async () => run.IsCompleted ? JsonSerializer.Serialize(await run) : null);

        using (HttpResponseMessage ok = await client.PostAsync("/embed", new StringContent("""{"inputs": ["a", "b"]}""")))
            Assert.Equal(2, (await Served.ReadAsync(ok, 200)).GetArrayLength());
        using (HttpResponseMessage tooMany = await client.PostAsync("/embed", new StringContent("""{"inputs": ["a", "b", "c"]}""")))
            Served.AssertTeiError(await Served.ReadAsync(tooMany, 413), "Validation");

        stop.Cancel();
        CliRunner.Result result = await run;
        Assert.True(result.Exit == 0, result.Err);
        Assert.Contains($"serving {model.Path} on http://127.0.0.1:{port}/ (MKL kernels: ", result.Err);
    }

    internal static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <param name="exited">What the server left behind once it has exited (early); null while it runs.</param>
    internal static async Task WaitForHealth(HttpClient client, Func<Task<string?>> exited)
    {
        // A guard against a hang while the model loads, not a timing assertion.
        for (int i = 0; i < 1200; i++)
        {
            if (await exited() is { } why) Assert.Fail($"serve exited early: {why}");
            try
            {
                using HttpResponseMessage health = await client.GetAsync("/health");
                if (health.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(50);
        }
        Assert.Fail("serve never answered /health");
    }
}
