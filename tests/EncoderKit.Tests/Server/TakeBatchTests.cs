using EncoderKit.Runtime;
using EncoderKit.Server;

namespace EncoderKit.Tests.Server;

/// <summary>The server's batch forming, without threads or a model.</summary>
public class TakeBatchTests
{
    // Works compare as records: these stand for two settings of one kind of work, no model needed.
    static readonly EmbedWork Plain = new(null!, 0, null, true);

    static PendingRequest Request(int rows, int length, BatchWork? work = null, CancellationToken aborted = default) =>
        new(work ?? Plain, [.. Enumerable.Range(0, rows).Select(_ => new TokenizedText(new int[length]))], aborted);

    [Fact]
    public void Takes_requests_in_arrival_order_while_padded_rows_fit_the_budget()
    {
        PendingRequest a = Request(2, 10), b = Request(1, 30), c = Request(1, 5), d = Request(1, 5);
        var waiting = new List<PendingRequest> { a, b, c, d };
        // a: 2×10 = 20; +b: 3×30 = 90; +c: 4×30 = 120 > 100 → stop at c, though d alone would also not fit.
        (List<PendingRequest> batch, List<PendingRequest> abandoned) = Batcher.TakeBatch(waiting, maxBatchTokens: 100);
        Assert.Equal([a, b], batch);
        Assert.Empty(abandoned);
        Assert.Equal([c, d], waiting);
    }

    [Fact]
    public void The_first_request_runs_even_when_it_alone_is_over_the_budget()
    {
        PendingRequest big = Request(4, 100), small = Request(1, 2);
        var waiting = new List<PendingRequest> { big, small };
        (List<PendingRequest> batch, _) = Batcher.TakeBatch(waiting, maxBatchTokens: 50);
        Assert.Equal([big], batch);
        Assert.Equal([small], waiting);
    }

    [Fact]
    public void Requests_with_other_settings_wait_for_a_batch_of_their_own()
    {
        PendingRequest a = Request(1, 4), other = Request(1, 4, Plain with { Dimensions = 16 }), c = Request(1, 4);
        var waiting = new List<PendingRequest> { a, other, c };
        (List<PendingRequest> batch, _) = Batcher.TakeBatch(waiting, 1000);
        Assert.Equal([a, c], batch);
        Assert.Equal([other], waiting);
        (batch, _) = Batcher.TakeBatch(waiting, 1000);
        Assert.Equal([other], batch);
        Assert.Empty(waiting);
    }

    [Fact]
    public void Requests_of_another_kind_of_work_wait_for_a_batch_of_their_own()
    {
        PendingRequest embed = Request(1, 4), states = Request(1, 4, new TokenStatesWork(null!)), more = Request(1, 4, new TokenStatesWork(null!));
        var waiting = new List<PendingRequest> { states, embed, more };
        (List<PendingRequest> batch, _) = Batcher.TakeBatch(waiting, 1000);
        Assert.Equal([states, more], batch);
        Assert.Equal([embed], waiting);
    }

    [Fact]
    public void Requests_whose_client_went_away_are_dropped_before_compute()
    {
        using var gone = new CancellationTokenSource();
        gone.Cancel();
        PendingRequest dropped = Request(1, 4, aborted: gone.Token), kept = Request(1, 4);
        var waiting = new List<PendingRequest> { dropped, kept };
        (List<PendingRequest> batch, List<PendingRequest> abandoned) = Batcher.TakeBatch(waiting, 1000);
        Assert.Equal([kept], batch);
        Assert.Equal([dropped], abandoned);
        Assert.Empty(waiting);
    }

    [Fact]
    public void Nothing_waiting_gives_an_empty_batch()
    {
        (List<PendingRequest> batch, List<PendingRequest> abandoned) = Batcher.TakeBatch([], 10);
        Assert.Empty(batch);
        Assert.Empty(abandoned);
    }
}
