using System.Diagnostics;
using EncoderKit.Runtime;

namespace EncoderKit.Server;

/// <summary>
/// What a batch computes from its rows: sentence vectors, token states, class scores, mask fillers. Requests whose work
/// is equal (same kind, same settings, same pipeline) share a forward pass: being a record, equality is the batching rule.
/// </summary>
public abstract record BatchWork
{
    /// <summary>One result per row, in row order; the forward passes run on the model's runner thread.</summary>
    internal abstract Task<Array> RunAsync(TokenizedText[] rows, int maxBatchTokens);
}

/// <inheritdoc cref="BatchWork"/>
/// <typeparam name="T">One row's result.</typeparam>
public abstract record BatchWork<T> : BatchWork
{
    internal sealed override async Task<Array> RunAsync(TokenizedText[] rows, int maxBatchTokens) =>
        await ComputeAsync(rows, maxBatchTokens).ConfigureAwait(false);

    /// <param name="maxBatchTokens">The runner splits the rows into forward passes of at most this many padded tokens.</param>
    internal abstract Task<T[]> ComputeAsync(TokenizedText[] rows, int maxBatchTokens);
}

/// <summary>One request's tokenized rows, waiting for their results.</summary>
public sealed class PendingRequest(BatchWork work, IReadOnlyList<TokenizedText> rows, CancellationToken aborted)
{
    public BatchWork Work { get; } = work;
    public IReadOnlyList<TokenizedText> Rows { get; } = rows;

    /// <summary>Cancelled when the client has gone away: the request is then dropped before compute.</summary>
    public CancellationToken Aborted { get; } = aborted;

    public int LongestRow { get; } = rows.Count == 0 ? 0 : rows.Max(r => Math.Max(1, r.Ids.Length));

    internal long Enqueued { get; set; }

    /// <summary>Seconds between entering the queue and its batch starting.</summary>
    public double QueueSeconds { get; internal set; }

    /// <summary>Seconds its batch computed.</summary>
    public double InferenceSeconds { get; internal set; }

    internal TaskCompletionSource<Array> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// TEI's queue, for every route that computes: requests enter in arrival order; one loop takes as many as fit the
/// padded-token budget into one batch, hands their rows together to the model's runner (which sorts them by length to
/// cut padding), and gives each request its own rows back. The HTTP threads only enqueue and await; no forward pass
/// runs on them.
/// </summary>
public sealed class Batcher : IAsyncDisposable
{
    readonly int _maxBatchTokens;
    readonly object _gate = new();
    readonly List<PendingRequest> _waiting = [];
    readonly SemaphoreSlim _arrived = new(0);
    readonly CancellationTokenSource _stopping = new();
    readonly ServerMetrics? _metrics;
    readonly Task _loop;
    long _batches, _submitted;

    public Batcher(int maxBatchTokens, ServerMetrics? metrics = null)
    {
        _metrics = metrics;
        _maxBatchTokens = maxBatchTokens;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Batches handed to the model so far.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Requests that have entered the queue so far.</summary>
    public long Submitted => Interlocked.Read(ref _submitted);

    public int QueueSize
    {
        get { lock (_gate) return _waiting.Count; }
    }

    /// <summary>Queues the request; completes with one result per row, in row order.</summary>
    public Task<Array> EnqueueAsync(PendingRequest request)
    {
        request.Enqueued = Stopwatch.GetTimestamp();
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
    /// then later ones with equal work, in arrival order, while all their rows padded to the longest stay within
    /// <paramref name="maxBatchTokens"/>; it stops at the first that does not fit, so no request is overtaken twice.
    /// Requests whose client has gone are removed and returned apart. Taken requests leave <paramref name="waiting"/>.
    /// </summary>
    public static (List<PendingRequest> Batch, List<PendingRequest> Abandoned) TakeBatch(List<PendingRequest> waiting, int maxBatchTokens)
    {
        var abandoned = waiting.Where(p => p.Aborted.IsCancellationRequested).ToList();
        waiting.RemoveAll(p => p.Aborted.IsCancellationRequested);
        var batch = new List<PendingRequest>();
        if (waiting.Count == 0) return (batch, abandoned);
        PendingRequest head = waiting[0];
        batch.Add(head);
        long rows = head.Rows.Count;
        int longest = head.LongestRow;
        for (int i = 1; i < waiting.Count; i++)
        {
            PendingRequest next = waiting[i];
            if (next.Work != head.Work) continue;
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
            List<PendingRequest> batch, abandoned;
            lock (_gate) (batch, abandoned) = TakeBatch(_waiting, _maxBatchTokens);
            foreach (PendingRequest gone in abandoned)
            {
                _metrics?.Failure("dropped");
                gone.Done.TrySetCanceled(gone.Aborted);
            }
            if (batch.Count > 0) await RunAsync(batch).ConfigureAwait(false);
        }
    }

    /// <remarks>Not cancelled by shutdown: a batch that started computing is answered.</remarks>
    async Task RunAsync(List<PendingRequest> batch)
    {
        TokenizedText[] rows = [.. batch.SelectMany(p => p.Rows)];
        Interlocked.Increment(ref _batches);
        _metrics?.Batch(batch.Count, rows.Sum(r => (long)r.Ids.Length));
        long start = Stopwatch.GetTimestamp();
        foreach (PendingRequest request in batch) request.QueueSeconds = Stopwatch.GetElapsedTime(request.Enqueued, start).TotalSeconds;
        try
        {
            Array results = await batch[0].Work.RunAsync(rows, _maxBatchTokens).ConfigureAwait(false);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            int at = 0;
            foreach (PendingRequest request in batch)
            {
                var own = Array.CreateInstance(results.GetType().GetElementType()!, request.Rows.Count);
                Array.Copy(results, at, own, 0, request.Rows.Count);
                at += request.Rows.Count;
                request.InferenceSeconds = seconds;
                request.Done.TrySetResult(own);
            }
        }
        catch (Exception e)
        {
            foreach (PendingRequest request in batch) request.Done.TrySetException(e);
        }
    }

    /// <summary>Lets the batch in flight finish, then fails the requests still waiting.</summary>
    public async ValueTask DisposeAsync()
    {
        PendingRequest[] left;
        lock (_gate)
        {
            if (_stopping.IsCancellationRequested) return;
            _stopping.Cancel();
            left = [.. _waiting];
            _waiting.Clear();
        }
        await _loop.ConfigureAwait(false);
        foreach (PendingRequest request in left) request.Done.TrySetException(new ObjectDisposedException(nameof(Batcher)));
        _stopping.Dispose();
        _arrived.Dispose();
    }
}
