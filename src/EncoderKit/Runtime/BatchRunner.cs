using static TorchSharp.torch;

namespace EncoderKit.Runtime;

/// <summary>
/// Runs batches on one dedicated thread, each inside its own dispose scope and inference mode. TorchSharp's dispose
/// scopes belong to a thread, so every forward pass of a model happens here and nowhere else, and nothing is awaited
/// inside a scope. A CLI, a server or an evaluation loop all submit the same way: rows in, one result per row back in
/// request order. Requests take turns a batch at a time, so a short request is not stuck behind a long one.
/// </summary>
public sealed class BatchRunner : IDisposable
{
    static readonly Lazy<BatchRunner> SharedRunner = new(() => new BatchRunner("EncoderKit shared batch runner"));

    readonly object _gate = new();
    readonly Queue<IJob> _waiting = new();
    readonly Thread _thread;
    bool _disposed;

    public BatchRunner(string name = "EncoderKit batch runner")
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>A process-wide runner for callers that do not keep their own (it is never disposed).</summary>
    public static BatchRunner Shared => SharedRunner.Value;

    /// <summary>
    /// Plans <paramref name="inputs"/> into batches (<see cref="BatchPlanner"/>) and runs each through
    /// <paramref name="step"/> on the runner's thread, inside a dispose scope: tensors the step makes are freed when it
    /// returns, so it returns managed results, one per row of the batch in batch order.
    /// </summary>
    /// <param name="progress">Told how many rows are done after each batch (on the runner's thread).</param>
    /// <returns>One result per input, in input order.</returns>
    /// <exception cref="OperationCanceledException">Cancelled before the last batch ran.</exception>
    /// <exception cref="ObjectDisposedException">The runner was disposed before the request finished.</exception>
    public Task<T[]> RunAsync<T>(IReadOnlyList<TokenizedText> inputs, BatchLimits limits, long padId, Func<Batch, IReadOnlyList<T>> step,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(step);
        IEnumerable<Batch> batches = BatchPlanner.Plan(inputs, limits, padId);
        cancellationToken.ThrowIfCancellationRequested();
        if (inputs.Count == 0) return Task.FromResult(Array.Empty<T>());
        var job = new Job<T>(inputs.Count, batches.GetEnumerator(), step, progress, cancellationToken);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _waiting.Enqueue(job);
            Monitor.Pulse(_gate);
        }
        return job.Task;
    }

    void Loop()
    {
        while (true)
        {
            IJob job;
            lock (_gate)
            {
                while (_waiting.Count == 0 && !_disposed) Monitor.Wait(_gate);
                if (_disposed) return;
                job = _waiting.Dequeue();
            }
            if (job.IsFinished) continue;   // cancelled while it waited
            bool more;
            try
            {
                more = job.RunNextBatch();
            }
            catch (Exception e)
            {
                job.Fail(e);
                continue;
            }
            if (!more) continue;
            lock (_gate)
            {
                if (!_disposed)
                {
                    _waiting.Enqueue(job);
                    continue;
                }
            }
            job.Fail(new ObjectDisposedException(nameof(BatchRunner)));
        }
    }

    /// <summary>Fails the requests still waiting (<see cref="ObjectDisposedException"/>) and waits for the batch in flight.</summary>
    public void Dispose()
    {
        IJob[] abandoned;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            abandoned = [.. _waiting];
            _waiting.Clear();
            Monitor.PulseAll(_gate);
        }
        foreach (IJob job in abandoned) job.Fail(new ObjectDisposedException(nameof(BatchRunner)));
        if (Thread.CurrentThread != _thread) _thread.Join();
    }

    interface IJob
    {
        bool IsFinished { get; }

        /// <returns>Whether batches remain.</returns>
        bool RunNextBatch();

        void Fail(Exception error);
    }

    sealed class Job<T> : IJob
    {
        readonly TaskCompletionSource<T[]> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        readonly T[] _results;
        readonly IEnumerator<Batch> _batches;
        readonly Func<Batch, IReadOnlyList<T>> _step;
        readonly IProgress<int>? _progress;
        readonly CancellationToken _cancellation;
        readonly CancellationTokenRegistration _registration;
        int _rowsDone;

        public Job(int rows, IEnumerator<Batch> batches, Func<Batch, IReadOnlyList<T>> step, IProgress<int>? progress, CancellationToken cancellation)
        {
            _results = new T[rows];
            _batches = batches;
            _step = step;
            _progress = progress;
            _cancellation = cancellation;
            _registration = cancellation.Register(() => Finish(() => _done.TrySetCanceled(cancellation)));
        }

        public Task<T[]> Task => _done.Task;

        public bool IsFinished => _done.Task.IsCompleted;

        public bool RunNextBatch()
        {
            _cancellation.ThrowIfCancellationRequested();
            if (!_batches.MoveNext()) throw new InvalidOperationException("a request with no batch left was run");
            Batch batch = _batches.Current;
            using (inference_mode())
            using (NewDisposeScope())
            {
                IReadOnlyList<T> rows = _step(batch);
                if (rows.Count != batch.Count) throw new InvalidOperationException($"the step returned {rows.Count} results for {batch.Count} rows");
                for (int j = 0; j < batch.Count; j++) _results[batch.Rows[j]] = rows[j];
            }
            _rowsDone += batch.Count;
            _progress?.Report(_rowsDone);
            if (_rowsDone < _results.Length) return true;
            Finish(() => _done.TrySetResult(_results));
            return false;
        }

        public void Fail(Exception error) => Finish(() =>
        {
            if (error is OperationCanceledException && _cancellation.IsCancellationRequested) _done.TrySetCanceled(_cancellation);
            else _done.TrySetException(error);
        });

        void Finish(Action complete)
        {
            complete();
            _registration.Dispose();
        }
    }
}
