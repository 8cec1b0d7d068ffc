using EncoderKit.Runtime;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Server;

/// <summary>What must be equal for two requests' rows to share a forward pass: everything after tokenization.</summary>
/// <param name="PromptLength">Tokens pooling leaves out when the model excludes the prompt.</param>
/// <param name="Dimensions">Matryoshka width; null keeps the model's.</param>
public readonly record struct EmbedSettings(int PromptLength, int? Dimensions, bool Normalize);

/// <summary>One request's tokenized rows, waiting for their vectors.</summary>
public sealed class PendingEmbed(IReadOnlyList<TokenizedText> rows, EmbedSettings settings, CancellationToken aborted)
{
    public IReadOnlyList<TokenizedText> Rows { get; } = rows;
    public EmbedSettings Settings { get; } = settings;

    /// <summary>Cancelled when the client has gone away: the request is then dropped before compute.</summary>
    public CancellationToken Aborted { get; } = aborted;

    public int LongestRow { get; } = rows.Count == 0 ? 0 : rows.Max(r => Math.Max(1, r.Ids.Length));

    internal TaskCompletionSource<float[][]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// TEI's queue: requests enter in arrival order; one loop takes as many as fit the padded-token budget into one batch,
/// hands their rows together to the encoder's runner (which sorts them by length to cut padding), and gives each
/// request its own rows back. The HTTP threads only enqueue and await; no forward pass runs on them.
/// </summary>
public sealed class EmbeddingBatcher : IAsyncDisposable
{
    readonly SentenceEncoder _encoder;
    readonly int _maxBatchTokens;
    readonly object _gate = new();
    readonly List<PendingEmbed> _waiting = [];
    readonly SemaphoreSlim _arrived = new(0);
    readonly CancellationTokenSource _stopping = new();
    readonly Task _loop;
    long _batches, _submitted;

    readonly ServerMetrics? _metrics;

    public EmbeddingBatcher(SentenceEncoder encoder, int maxBatchTokens, ServerMetrics? metrics = null)
    {
        _encoder = encoder;
        _metrics = metrics;
        _maxBatchTokens = maxBatchTokens;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Batches handed to the encoder so far.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Requests that have entered the queue so far.</summary>
    public long Submitted => Interlocked.Read(ref _submitted);

    public int QueueSize
    {
        get { lock (_gate) return _waiting.Count; }
    }

    /// <summary>Queues the request; completes with one vector per row, in row order.</summary>
    public Task<float[][]> EmbedAsync(PendingEmbed request)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
            _waiting.Add(request);
        }
        Interlocked.Increment(ref _submitted);
        _arrived.Release();
        return request.Done.Task;
    }

    /// <summary>
    /// The next batch: the first waiting request (run even when it alone is over the budget: the runner splits it),
    /// then later ones with the same settings, in arrival order, while all their rows padded to the longest stay within
    /// <paramref name="maxBatchTokens"/>; it stops at the first that does not fit, so no request is overtaken twice.
    /// Requests whose client has gone are removed and returned apart. Taken requests leave <paramref name="waiting"/>.
    /// </summary>
    public static (List<PendingEmbed> Batch, List<PendingEmbed> Abandoned) TakeBatch(List<PendingEmbed> waiting, int maxBatchTokens)
    {
        var abandoned = waiting.Where(p => p.Aborted.IsCancellationRequested).ToList();
        waiting.RemoveAll(p => p.Aborted.IsCancellationRequested);
        var batch = new List<PendingEmbed>();
        if (waiting.Count == 0) return (batch, abandoned);
        PendingEmbed head = waiting[0];
        batch.Add(head);
        long rows = head.Rows.Count;
        int longest = head.LongestRow;
        for (int i = 1; i < waiting.Count; i++)
        {
            PendingEmbed next = waiting[i];
            if (next.Settings != head.Settings) continue;
            int padded = Math.Max(longest, next.LongestRow);
            if ((rows + next.Rows.Count) * padded > maxBatchTokens) break;
            batch.Add(next);
            rows += next.Rows.Count;
            longest = padded;
        }
        waiting.RemoveAll(batch.Contains);
        return (batch, abandoned);
    }

    async Task LoopAsync()
    {
        CancellationToken stopping = _stopping.Token;
        while (true)
        {
            try
            {
                await _arrived.WaitAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            List<PendingEmbed> batch, abandoned;
            lock (_gate) (batch, abandoned) = TakeBatch(_waiting, _maxBatchTokens);
            foreach (PendingEmbed gone in abandoned) gone.Done.TrySetCanceled(gone.Aborted);
            if (batch.Count > 0) await RunAsync(batch).ConfigureAwait(false);
        }
    }

    /// <remarks>Not cancelled by shutdown: a batch that started computing is answered.</remarks>
    async Task RunAsync(List<PendingEmbed> batch)
    {
        TokenizedText[] rows = [.. batch.SelectMany(p => p.Rows)];
        EmbedSettings settings = batch[0].Settings;
        Interlocked.Increment(ref _batches);
        _metrics?.Batch(batch.Count, (long)rows.Length * batch.Max(p => p.LongestRow));
        try
        {
            var options = new EmbedOptions { TruncateDim = settings.Dimensions, Normalize = settings.Normalize, MaxBatchTokens = _maxBatchTokens, BatchSize = rows.Length };
            float[][] vectors = await _encoder.EncodeTokensAsync(rows, settings.PromptLength, options).ConfigureAwait(false);
            int at = 0;
            foreach (PendingEmbed request in batch)
            {
                request.Done.TrySetResult(vectors[at..(at + request.Rows.Count)]);
                at += request.Rows.Count;
            }
        }
        catch (Exception e)
        {
            foreach (PendingEmbed request in batch) request.Done.TrySetException(e);
        }
    }

    /// <summary>Lets the batch in flight finish, then fails the requests still waiting.</summary>
    public async ValueTask DisposeAsync()
    {
        PendingEmbed[] left;
        lock (_gate)
        {
            if (_stopping.IsCancellationRequested) return;
            _stopping.Cancel();
            left = [.. _waiting];
            _waiting.Clear();
        }
        await _loop.ConfigureAwait(false);
        foreach (PendingEmbed request in left) request.Done.TrySetException(new ObjectDisposedException(nameof(EmbeddingBatcher)));
        _stopping.Dispose();
        _arrived.Dispose();
    }
}
