using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace EncoderKit.Server;

/// <summary>
/// What /metrics exports, in Prometheus' text format, under TEI's metric names and labels and with TEI's buckets:
/// te_request_count / te_request_success by method (single or batch input), te_request_failure by err, te_queue_size,
/// te_batch_next_size / te_batch_next_tokens per batch, and te_request_duration with its tokenization, queue and
/// inference parts per successful request. TEI has no count by route and status; te_http_requests_total adds it.
/// </summary>
public sealed class ServerMetrics
{
    // TEI's buckets (router/src/prometheus.rs): durations geometric from 1.5e-5 s by 1.5, 35 of them; batch sizes and
    // tokens powers of two.
    static readonly double[] SecondBuckets = [.. Enumerable.Range(1, 35).Select(i => 1e-5 * Math.Pow(1.5, i))];
    static readonly double[] SizeBuckets = [.. Enumerable.Range(0, 13).Select(i => Math.Pow(2, i))];
    static readonly double[] TokenBuckets = [.. Enumerable.Range(0, 21).Select(i => Math.Pow(2, i))];

    readonly ConcurrentDictionary<(string Route, int Status), long> _http = new();
    readonly ConcurrentDictionary<string, long> _received = new(), _succeeded = new(), _failed = new();
    readonly Histogram _batchSize = new(SizeBuckets), _batchTokens = new(TokenBuckets);
    readonly Histogram _duration = new(SecondBuckets), _tokenization = new(SecondBuckets), _queue = new(SecondBuckets), _inference = new(SecondBuckets);

    /// <summary>An answer sent, whatever the route.</summary>
    public void Answered(string route, int status) => _http.AddOrUpdate((route, status), 1, (_, n) => n + 1);

    /// <summary>A computing request read and about to be validated (TEI counts it there).</summary>
    /// <param name="method">"single" for one input, "batch" for a list.</param>
    public void Received(string method) => _received.AddOrUpdate(method, 1, (_, n) => n + 1);

    /// <summary>A computing request answered with its results, <paramref name="seconds"/> after it arrived.</summary>
    public void Succeeded(string method, double seconds)
    {
        _succeeded.AddOrUpdate(method, 1, (_, n) => n + 1);
        _duration.Observe(seconds);
    }

    /// <param name="err">TEI's label: overloaded, validation, tokenization, empty, model_type, inference, dropped.</param>
    public void Failure(string err) => _failed.AddOrUpdate(err, 1, (_, n) => n + 1);

    /// <summary>Where a successful request's time went.</summary>
    public void Timings(double tokenization, double queue, double inference)
    {
        _tokenization.Observe(tokenization);
        _queue.Observe(queue);
        _inference.Observe(inference);
    }

    /// <param name="requests">Requests merged into the batch.</param>
    /// <param name="tokens">Their rows' tokens, unpadded (TEI's count).</param>
    public void Batch(int requests, long tokens)
    {
        _batchSize.Observe(requests);
        _batchTokens.Observe(tokens);
    }

    public string Render(int queueSize)
    {
        var text = new StringBuilder();
        Counter(text, "te_request_count", "Computing requests received, by input kind", "method", _received);
        Counter(text, "te_request_success", "Computing requests answered with results, by input kind", "method", _succeeded);
        Counter(text, "te_request_failure", "Requests refused or failed, by cause", "err", _failed);
        text.Append("# HELP te_http_requests_total Answers sent, by route and status\n# TYPE te_http_requests_total counter\n");
        foreach (var ((route, status), n) in _http.OrderBy(r => r.Key))
            text.Append(CultureInfo.InvariantCulture, $"te_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}\n");
        text.Append(CultureInfo.InvariantCulture, $"# HELP te_queue_size Requests waiting for a batch\n# TYPE te_queue_size gauge\nte_queue_size {queueSize}\n");
        _batchSize.Render(text, "te_batch_next_size", "Requests per batch");
        _batchTokens.Render(text, "te_batch_next_tokens", "Tokens per batch (unpadded)");
        _duration.Render(text, "te_request_duration", "Seconds from request to answer, successful computing requests");
        _tokenization.Render(text, "te_request_tokenization_duration", "Seconds tokenizing, per successful request");
        _queue.Render(text, "te_request_queue_duration", "Seconds waiting for a batch, per successful request");
        _inference.Render(text, "te_request_inference_duration", "Seconds its batch computed, per successful request");
        return text.ToString();
    }

    static void Counter(StringBuilder text, string name, string help, string label, ConcurrentDictionary<string, long> counts)
    {
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n");
        foreach (var (value, n) in counts.OrderBy(c => c.Key, StringComparer.Ordinal))
            text.Append(CultureInfo.InvariantCulture, $"{name}{{{label}=\"{value}\"}} {n}\n");
    }

    sealed class Histogram(double[] bounds)
    {
        readonly long[] _counts = new long[bounds.Length + 1];
        readonly object _gate = new();
        double _sum;

        public void Observe(double value)
        {
            int bucket = Array.FindIndex(bounds, b => value <= b);
            lock (_gate)
            {
                _counts[bucket < 0 ? bounds.Length : bucket]++;
                _sum += value;
            }
        }

        public void Render(StringBuilder text, string name, string help)
        {
            text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} histogram\n");
            lock (_gate)
            {
                long cumulative = 0;
                for (int i = 0; i < bounds.Length; i++)
                {
                    cumulative += _counts[i];
                    text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"{bounds[i]:R}\"}} {cumulative}\n");
                }
                cumulative += _counts[^1];
                text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"+Inf\"}} {cumulative}\n{name}_sum {_sum:R}\n{name}_count {cumulative}\n");
            }
        }
    }
}
