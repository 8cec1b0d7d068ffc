using System.Text.Json;
using EncoderKit.Runtime;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Tests.Server;

/// <summary>
/// Requests from many clients share batches and still each get their own rows; past --max-concurrent-requests the
/// answer is 429 at once. The model's runner is held busy by a gate the test opens, so what waits is decided by the
/// test, not by timing.
/// </summary>
public class ServerConcurrencyTests(ServedModel model) : IClassFixture<ServedModel>
{
    /// <summary>Occupies the encoder's runner thread until the returned gate is set.</summary>
    static (ManualResetEventSlim Gate, Task Busy) HoldRunner(SentenceEncoder encoder)
    {
        var gate = new ManualResetEventSlim();
        Task busy = encoder.Runner.RunAsync<int>([new TokenizedText([0])], new BatchLimits(), 0, _ =>
        {
            gate.Wait(TimeSpan.FromMinutes(2));
            return [0];
        });
        return (gate, busy);
    }

    static async Task WaitUntil(Func<bool> condition)
    {
        // A guard against a hang, not a timing assertion: the condition holds as soon as the requests have arrived.
        for (int i = 0; i < 6000 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition(), "the requests never arrived");
    }

    [Fact]
    public async Task Concurrent_requests_are_batched_together_and_each_gets_its_own_rows()
    {
        await using Served served = await model.StartAsync();
        string[] texts = [.. Enumerable.Range(0, 24).Select(i => string.Join(' ', Enumerable.Repeat($"word{i}", 1 + i % 7)))];
        float[][] alone = model.Encoder.Encode(texts, options: new EmbedOptions { Normalize = true });

        (ManualResetEventSlim gate, Task busy) = HoldRunner(model.Encoder);
        Task<JsonElement>[] requests = [.. texts.Select(t => served.PostJsonAsync("/embed", new { inputs = t }))];
        await WaitUntil(() => served.Server.Inference.Batcher.Submitted == texts.Length);
        long before = served.Server.Inference.Batcher.Batches;   // what the loop took before the runner was free: at most one batch
        gate.Set();
        await busy;
        JsonElement[] answers = await Task.WhenAll(requests);

        Assert.True(before <= 1, $"{before} batches started while the runner was held");
        // Everything that waited ran as one batch. While the runner was held the loop could take one batch (all 24, or
        // only the first arrivals, counted a moment after it took them); everything else waited and ran as one more. So
        // the 24 requests ran in one or two batches, never one each.
        long total = served.Server.Inference.Batcher.Batches;
        Assert.True(total is 1 or 2, $"24 concurrent requests ran in {total} batches");
        // Rows computed among others of other lengths: padding changes the GEMM shapes, so the last bits may differ.
        for (int i = 0; i < texts.Length; i++)
        {
            float[] got = Served.Vectors(answers[i])[0];
            for (int d = 0; d < got.Length; d++) Assert.Equal(alone[i][d], got[d], 1e-5f);
        }
    }

    [Fact]
    public async Task Past_max_concurrent_requests_the_answer_is_429_and_service_resumes()
    {
        await using Served served = await model.StartAsync(o => o.MaxConcurrentRequests = 2);
        (ManualResetEventSlim gate, Task busy) = HoldRunner(model.Encoder);
        Task<HttpResponseMessage>[] admitted = [served.PostAsync("/embed", new { inputs = "one" }), served.PostAsync("/embed", new { inputs = "two" })];
        await WaitUntil(() => served.Server.Inference.Batcher.Submitted == 2);
        using (HttpResponseMessage refused = await served.PostAsync("/embed", new { inputs = "three" }))
            Served.AssertTeiError(await Served.ReadAsync(refused, 429), "Overloaded");
        using (HttpResponseMessage refused = await served.PostAsync("/v1/embeddings", """{"input": "three"}"""))
            Assert.Equal("rate_limit_error", (await Served.ReadAsync(refused, 429)).GetProperty("error").GetProperty("type").GetString());
        using (HttpResponseMessage health = await served.Client.GetAsync("/health")) Assert.Equal(200, (int)health.StatusCode);
        gate.Set();
        await busy;
        foreach (HttpResponseMessage response in await Task.WhenAll(admitted))
            using (response) Assert.Equal(200, (int)response.StatusCode);
        Assert.Single(Served.Vectors(await served.PostJsonAsync("/embed", new { inputs = "after" })));
    }

    [Fact]
    public async Task A_request_whose_client_went_away_is_dropped_before_compute()
    {
        await using Served served = await model.StartAsync();
        (ManualResetEventSlim gate, Task busy) = HoldRunner(model.Encoder);
        Task<JsonElement> first = served.PostJsonAsync("/embed", new { inputs = "first" });
        await WaitUntil(() => served.Server.Inference.Batcher.Submitted == 1);
        using var leaving = new CancellationTokenSource();
        Task<HttpResponseMessage> abandoned = served.PostAsync("/embed", """{"inputs": "gone"}""", cancellationToken: leaving.Token);
        await WaitUntil(() => served.Server.Inference.Batcher.Submitted == 2);
        leaving.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        await WaitUntil(() => served.Server.Inference.InFlight == 1);   // the server saw the client go
        long batchesBefore = served.Server.Inference.Batcher.Batches;
        gate.Set();
        await busy;
        await first;
        Assert.Single(Served.Vectors(await served.PostJsonAsync("/embed", new { inputs = "next" })));
        // "first" ran in the batch already taken; "gone" was never run: only "next" added one.
        Assert.Equal(batchesBefore + 1, served.Server.Inference.Batcher.Batches);
    }

    [Fact, Trait("speed", "slow")]
    public async Task Sixty_four_clients_of_twenty_mixed_requests_each_get_their_own_answers()
    {
        await using Served served = await model.StartAsync(o => o.MaxBatchTokens = 2048);
        string[] texts = [.. Enumerable.Range(0, 40).Select(i => string.Join(' ', Enumerable.Range(0, 1 + i * 37 % 90).Select(w => $"w{(w * 7 + i) % 50}")))];
        float[][] alone = model.Encoder.Encode(texts, options: new EmbedOptions { Normalize = true });
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, 64).Select(client => Task.Run(async () =>
        {
            for (int r = 0; r < 20; r++)
            {
                int[] picks = [(client * 20 + r) % texts.Length, (client * 3 + r * 11) % texts.Length];
                string[] inputs = r % 2 == 0 ? [texts[picks[0]]] : [texts[picks[0]], texts[picks[1]]];
                using HttpResponseMessage response = await served.PostAsync("/embed", new { inputs });
                string body = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode)
                {
                    failures.Add($"client {client} request {r}: {(int)response.StatusCode} {body}");
                    continue;
                }
                float[][] got = Served.Vectors(JsonDocument.Parse(body).RootElement);
                for (int k = 0; k < inputs.Length; k++)
                    if (got[k].Zip(alone[picks[k]]).Max(p => Math.Abs(p.First - p.Second)) > 1e-5f)
                        failures.Add($"client {client} request {r} input {k}: not the single-request answer for text {picks[k]}");
            }
        })));
        Assert.Empty(failures);
        Assert.True(served.Server.Inference.Batcher.Batches < 64 * 20, "requests were never merged into shared batches");
    }
}
