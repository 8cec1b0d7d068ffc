using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace EncoderKit.Server;

/// <summary>
/// What /metrics exports, in Prometheus' text format and under TEI's metric names: requests by route and status, the
/// queue size, each batch's size and padded tokens, and request durations.
/// </summary>
public sealed class ServerMetrics
{
    static readonly double[] SizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
    static readonly double[] TokenBuckets = [64, 256, 1024, 4096, 16384, 65536];
    static readonly double[] SecondBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    readonly ConcurrentDictionary<(string Route, int Status), long> _requests = new();
    readonly Histogram _batchSize = new(SizeBuckets), _batchTokens = new(TokenBuckets), _duration = new(SecondBuckets);

    public void Request(string route, int status, double seconds)
    {
        _requests.AddOrUpdate((route, status), 1, (_, n) => n + 1);
        _duration.Observe(seconds);
    }

    /// <param name="requests">Requests merged into the batch.</param>
    /// <param name="paddedTokens">Rows × the longest row.</param>
    public void Batch(int requests, long paddedTokens)
    {
        _batchSize.Observe(requests);
        _batchTokens.Observe(paddedTokens);
    }

    public string Render(int queueSize)
    {
        var text = new StringBuilder();
        text.Append("# HELP te_request_count Requests answered, by route and status\n# TYPE te_request_count counter\n");
        foreach (var ((route, status), n) in _requests.OrderBy(r => r.Key))
            text.Append(CultureInfo.InvariantCulture, $"te_request_count{{route=\"{route}\",status=\"{status}\"}} {n}\n");
        text.Append(CultureInfo.InvariantCulture, $"# HELP te_queue_size Requests waiting for a batch\n# TYPE te_queue_size gauge\nte_queue_size {queueSize}\n");
        _batchSize.Render(text, "te_batch_next_size", "Requests per batch");
        _batchTokens.Render(text, "te_batch_next_tokens", "Padded tokens per batch");
        _duration.Render(text, "te_request_duration", "Seconds from request to answer");
        return text.ToString();
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
                    text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"{bounds[i]}\"}} {cumulative}\n");
                }
                cumulative += _counts[^1];
                text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"+Inf\"}} {cumulative}\n{name}_sum {_sum}\n{name}_count {cumulative}\n");
            }
        }
    }
}
