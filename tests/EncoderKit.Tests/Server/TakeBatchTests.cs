using EncoderKit.Runtime;
using EncoderKit.Server;

namespace EncoderKit.Tests.Server;

/// <summary>The server's batch forming, without threads or a model.</summary>
public class TakeBatchTests
{
    static readonly EmbedSettings Plain = new(0, null, true);

    static PendingEmbed Request(int rows, int length, EmbedSettings? settings = null, CancellationToken aborted = default) =>
        new([.. Enumerable.Range(0, rows).Select(_ => new TokenizedText(new int[length]))], settings ?? Plain, aborted);

    [Fact]
    public void Takes_requests_in_arrival_order_while_padded_rows_fit_the_budget()
    {
        PendingEmbed a = Request(2, 10), b = Request(1, 30), c = Request(1, 5), d = Request(1, 5);
        var waiting = new List<PendingEmbed> { a, b, c, d };
        // a: 2×10 = 20; +b: 3×30 = 90; +c: 4×30 = 120 > 100 → stop at c, though d alone would also not fit.
        (List<PendingEmbed> batch, List<PendingEmbed> abandoned) = EmbeddingBatcher.TakeBatch(waiting, maxBatchTokens: 100);
        Assert.Equal([a, b], batch);
        Assert.Empty(abandoned);
        Assert.Equal([c, d], waiting);
    }

    [Fact]
    public void The_first_request_runs_even_when_it_alone_is_over_the_budget()
    {
        PendingEmbed big = Request(4, 100), small = Request(1, 2);
        var waiting = new List<PendingEmbed> { big, small };
        (List<PendingEmbed> batch, _) = EmbeddingBatcher.TakeBatch(waiting, maxBatchTokens: 50);
        Assert.Equal([big], batch);
        Assert.Equal([small], waiting);
    }

    [Fact]
    public void Requests_with_other_settings_wait_for_a_batch_of_their_own()
    {
        PendingEmbed a = Request(1, 4), other = Request(1, 4, new EmbedSettings(0, 16, true)), c = Request(1, 4);
        var waiting = new List<PendingEmbed> { a, other, c };
        (List<PendingEmbed> batch, _) = EmbeddingBatcher.TakeBatch(waiting, 1000);
        Assert.Equal([a, c], batch);
        Assert.Equal([other], waiting);
        (batch, _) = EmbeddingBatcher.TakeBatch(waiting, 1000);
        Assert.Equal([other], batch);
        Assert.Empty(waiting);
    }

    [Fact]
    public void Requests_whose_client_went_away_are_dropped_before_compute()
    {
        using var gone = new CancellationTokenSource();
        gone.Cancel();
        PendingEmbed dropped = Request(1, 4, aborted: gone.Token), kept = Request(1, 4);
        var waiting = new List<PendingEmbed> { dropped, kept };
        (List<PendingEmbed> batch, List<PendingEmbed> abandoned) = EmbeddingBatcher.TakeBatch(waiting, 1000);
        Assert.Equal([kept], batch);
        Assert.Equal([dropped], abandoned);
        Assert.Empty(waiting);
    }

    [Fact]
    public void Nothing_waiting_gives_an_empty_batch()
    {
        (List<PendingEmbed> batch, List<PendingEmbed> abandoned) = EmbeddingBatcher.TakeBatch([], 10);
        Assert.Empty(batch);
        Assert.Empty(abandoned);
    }
}
