using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Runtime;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Inference;

/// <summary>
/// The runner with steps that need no model (each row's result is read back from the batch it ran in), then a real
/// encoder through it. Waits carry a generous guard only so that a broken runner fails instead of hanging the suite;
/// nothing passes or fails on how long anything takes.
/// </summary>
public sealed class BatchRunnerTests
{
    static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    static TokenizedText[] Request(int seed, int count)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => new TokenizedText(Enumerable.Range(0, random.Next(0, 30)).Select(_ => random.Next(1, 1000)).ToArray())).ToArray();
    }

    /// <summary>Each row's real ids, cut out of the padded batch: what a row "computes" here.</summary>
    static int[][] Echo(Batch batch) =>
        Enumerable.Range(0, batch.Count).Select(b => batch.InputIds.Skip(b * batch.Length).Take(batch.Lengths[b]).Select(x => (int)x).ToArray()).ToArray();

    [Fact]
    public async Task AMixedLengthRequestComesBackInRequestOrder()
    {
        using var runner = new BatchRunner();
        TokenizedText[] inputs = Request(1, 40);
        var batchSizes = new List<int>();
        var progress = new List<int>();
        int[][] results = await runner.RunAsync(inputs, new BatchLimits(MaxTokens: 60, MaxRows: 6), padId: 0, batch =>
        {
            batchSizes.Add(batch.Count);
            return Echo(batch);
        }, new Recorder(progress)).WaitAsync(HangGuard);

        Assert.Equal(inputs.Select(i => i.Ids), results);
        Assert.True(batchSizes.Count > 1, "the request should have needed several batches");
        Assert.Equal(batchSizes.Select((_, k) => batchSizes.Take(k + 1).Sum()), progress);
        Assert.Empty(await runner.RunAsync<int>([], new BatchLimits(), 0, _ => throw new InvalidOperationException("no batch to run")));
    }

    sealed class Recorder(List<int> into) : IProgress<int>
    {
        public void Report(int value) => into.Add(value);
    }

    [Fact]
    public async Task ConcurrentRequestsFromSeveralThreadsAllGetTheirOwnRowsOnOneThread()
    {
        using var runner = new BatchRunner();
        var stepThreads = new HashSet<int>();
        int[][] Step(Batch batch)
        {
            lock (stepThreads) stepThreads.Add(Environment.CurrentManagedThreadId);
            return Echo(batch);
        }
        var callers = Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            for (int r = 0; r < 10; r++)
            {
                TokenizedText[] inputs = Request(100 * t + r, 1 + (t + r) % 13);
                int[][] results = await runner.RunAsync(inputs, new BatchLimits(MaxTokens: 50, MaxRows: 4), 0, Step);
                Assert.Equal(inputs.Select(i => i.Ids), results);
            }
            return Environment.CurrentManagedThreadId;
        })).ToArray();
        int[] callerThreads = await Task.WhenAll(callers).WaitAsync(HangGuard);

        int runnerThread = Assert.Single(stepThreads);
        Assert.DoesNotContain(runnerThread, callerThreads);
    }

    /// <summary>A runner held on its first batch until <see cref="Release"/>: what waits behind it stays queued.</summary>
    sealed class Blocker
    {
        readonly ManualResetEventSlim _started = new(), _release = new();

        public int[][] Step(Batch batch)
        {
            _started.Set();
            _release.Wait();
            return Echo(batch);
        }

        public void WaitUntilRunning() => Assert.True(_started.Wait(HangGuard), "the first batch never started");

        public void Release() => _release.Set();
    }

    [Fact]
    public async Task ACancelledQueuedRequestEndsAtOnceAndNeverRuns()
    {
        using var runner = new BatchRunner();
        var blocker = new Blocker();
        Task<int[][]> first = runner.RunAsync(Request(2, 3), new BatchLimits(), 0, blocker.Step);
        blocker.WaitUntilRunning();

        using var cancel = new CancellationTokenSource();
        int ranSecond = 0;
        Task<int[][]> second = runner.RunAsync(Request(3, 3), new BatchLimits(), 0, b => { Interlocked.Increment(ref ranSecond); return Echo(b); }, cancellationToken: cancel.Token);
        cancel.Cancel();
        Assert.True(second.IsCanceled, "cancelling a queued request should end it while the runner is still busy");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);

        blocker.Release();
        await first.WaitAsync(HangGuard);
        Assert.True(first.IsCompletedSuccessfully);
        Assert.Equal(0, ranSecond);
        // Already cancelled: refused before it is queued.
        Assert.ThrowsAny<OperationCanceledException>(() => { _ = runner.RunAsync(Request(4, 2), new BatchLimits(), 0, Echo, cancellationToken: cancel.Token); });
    }

    [Fact]
    public async Task DisposingFailsPendingWorkInsteadOfHanging()
    {
        var runner = new BatchRunner();
        var blocker = new Blocker();
        Task<int[][]> running = runner.RunAsync(Request(5, 2), new BatchLimits(MaxRows: 1), 0, blocker.Step);   // two batches
        blocker.WaitUntilRunning();
        Task<int[][]> queued = runner.RunAsync(Request(6, 4), new BatchLimits(), 0, Echo);

        Task disposing = Task.Run(runner.Dispose);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => queued.WaitAsync(HangGuard));   // failed while the batch in flight still runs
        Assert.False(disposing.IsCompleted, "Dispose should wait for the batch in flight");
        blocker.Release();
        await disposing.WaitAsync(HangGuard);
        // The batch in flight finished; the request's second batch never ran.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => running.WaitAsync(HangGuard));
        Assert.Throws<ObjectDisposedException>(() => { _ = runner.RunAsync(Request(7, 1), new BatchLimits(), 0, Echo); });
        runner.Dispose();   // twice is fine
    }

    [Fact]
    public async Task AFailingStepFailsItsRequestOnlyAndTheRunnerGoesOn()
    {
        using var runner = new BatchRunner();
        var bad = runner.RunAsync<int[]>(Request(8, 3), new BatchLimits(), 0, _ => throw new EncoderKitException(ErrorKind.BadInput, "bad row", field: "input_ids"));
        Assert.Equal("input_ids", (await Assert.ThrowsAsync<EncoderKitException>(() => bad.WaitAsync(HangGuard))).Field);
        var wrongCount = runner.RunAsync(Request(9, 3), new BatchLimits(), 0, _ => new int[0][]);
        await Assert.ThrowsAsync<InvalidOperationException>(() => wrongCount.WaitAsync(HangGuard));
        TokenizedText[] inputs = Request(10, 5);
        Assert.Equal(inputs.Select(i => i.Ids), await runner.RunAsync(inputs, new BatchLimits(), 0, Echo).WaitAsync(HangGuard));
    }

    public static TheoryData<string> Fixtures => new(Embeddings.SentenceFolder.RunnableFixtures());

    /// <summary>
    /// A batch equals its rows run alone, through the runner: each row's last hidden state at its real positions, from
    /// mixed-length batches (padded, masked) and from one-row batches (no padding). 1e-5 absolute: the same arithmetic
    /// over fewer keys, so only float reassociation differs; a mask that let padding in moves values by 1e-2 or more.
    /// </summary>
    [Theory, MemberData(nameof(Fixtures))]
    public async Task ABatchEqualsItsRowsRunAlone(string fixture)
    {
        using EncoderModel model = EncoderModel.CreateRandom(ConfigJson.Load(Path.Combine(ReferenceData.Model(fixture), "config.json")), seed: 3);
        using var runner = new BatchRunner();
        var random = new Random(11);
        int vocab = model.Spec.Embeddings.VocabSize;
        TokenizedText[] inputs = Enumerable.Range(0, 7)
            .Select(r => new TokenizedText(Enumerable.Range(0, 3 + r * 5 % 23).Select(_ => random.Next(0, vocab)).ToArray())).ToArray();
        float[][] Hidden(Batch batch)
        {
            EncoderOutputs outputs = model.Forward(batch.InputIdsTensor(), batch.IsPadded ? batch.AttentionMaskTensor() : null, batch.TokenTypeIdsTensor(), Outputs.LastHiddenState);
            return Enumerable.Range(0, batch.Count)
                .Select(b => outputs.LastHiddenState[b].narrow(0, 0, batch.Lengths[b]).to_type(ScalarType.Float32).contiguous().data<float>().ToArray()).ToArray();
        }

        float[][] batched = await runner.RunAsync(inputs, new BatchLimits(MaxRows: 4, SortByLength: false), 0, Hidden).WaitAsync(HangGuard);
        float[][] alone = await runner.RunAsync(inputs, new BatchLimits(MaxRows: 1), 0, Hidden).WaitAsync(HangGuard);
        for (int r = 0; r < inputs.Length; r++)
        {
            Assert.Equal(alone[r].Length, batched[r].Length);
            double worst = alone[r].Zip(batched[r], (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= 1e-5, $"{fixture} row {r}: batched differs from alone by {worst:E2}");
        }
    }
}
