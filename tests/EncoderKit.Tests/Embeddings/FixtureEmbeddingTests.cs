using EncoderKit.Runtime;
using EncoderKit.SentenceEmbeddings;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Embeddings;

/// <summary>
/// The reference fixtures wrapped in sentence-transformers folders, through <see cref="SentenceEncoder"/>: the pooled
/// vectors equal the fixture's mean_pooled and mean_pooled_normalized (computed by the reference as
/// sum(h·mask)/sum(mask), then L2-normalised). Tolerance 1e-4 absolute, as for the hidden states they come from: the
/// reference's own eager-vs-sdpa spread is ~1e-5 and a wrong pooling (CLS, unmasked padding) is off by 1e-2 or more.
/// Fixtures appear here only once their family is in <see cref="EncoderKit.Modeling.ModelFamilies"/>.
/// </summary>
public sealed class FixtureEmbeddingTests
{
    const double Tolerance = 1e-4;

    public static TheoryData<string> Fixtures => new(SentenceFolder.RunnableFixtures());

    /// <summary>The fixture's rows without their padding (right-padded; mask says how long each is).</summary>
    static TokenizedText[] Rows(Fixture fixture)
    {
        using Tensor ids = fixture.InputIds, mask = fixture.AttentionMask;
        using Tensor? types = fixture.TokenTypeIds;
        var rows = new TokenizedText[ids.shape[0]];
        for (int r = 0; r < rows.Length; r++)
        {
            int length = (int)mask[r].sum().item<long>();
            int[] Take(Tensor t) => t[r].narrow(0, 0, length).to_type(ScalarType.Int32).data<int>().ToArray();
            rows[r] = new TokenizedText(Take(ids), types is null ? null : Take(types));
        }
        return rows;
    }

    static void AssertClose(float[][] actual, Tensor expected, string what)
    {
        using Tensor got = tensor(actual.SelectMany(r => r).ToArray(), [actual.Length, actual[0].Length]);
        TensorAssert.Close(got, expected, Tolerance, what: what);
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void MeanPooledNormalizedEmbeddingsMatchTheReference(string name)
    {
        using var fixture = new Fixture(name);
        using var folder = SentenceFolder.MeanNormalized(name);
        using var encoder = SentenceEncoder.Load(folder.Path);
        Assert.True(encoder.NormalizesByDefault);
        Assert.Equal(folder.Hidden, encoder.Dimension);
        TokenizedText[] rows = Rows(fixture);

        using Tensor normalized = fixture.Expected("mean_pooled_normalized");
        AssertClose(encoder.EncodeTokens(rows), normalized, $"{name}: mean_pooled_normalized");
        using Tensor pooled = fixture.Expected("mean_pooled");
        AssertClose(encoder.EncodeTokens(rows, options: new EmbedOptions { Normalize = false }), pooled, $"{name}: mean_pooled");
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void TruncatingToNDimsEqualsSlicingThenNormalizing(string name)
    {
        using var fixture = new Fixture(name);
        using var folder = SentenceFolder.MeanNormalized(name);
        int dims = folder.Hidden / 4;
        using var encoder = SentenceEncoder.Load(folder.Path, new SentenceEncoderOptions { TruncateDim = dims });
        Assert.Equal(dims, encoder.Dimension);
        float[][] truncated = encoder.EncodeTokens(Rows(fixture));

        using Tensor pooled = fixture.Expected("mean_pooled");
        using Tensor sliced = pooled.narrow(1, 0, dims);
        using Tensor expected = sliced / sliced.norm(1, keepdim: true, p: 2);
        AssertClose(truncated, expected, $"{name}: first {dims} dims, normalised");
        foreach (float[] row in truncated) Assert.Equal(1.0, Math.Sqrt(row.Sum(x => (double)x * x)), 5);

        // A per-call width overrides the load-time one, and the full width is still there.
        AssertClose(encoder.EncodeTokens(Rows(fixture), options: new EmbedOptions { TruncateDim = folder.Hidden }),
            fixture.Expected("mean_pooled_normalized"), $"{name}: full width");
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void APlainModelFolderGetsMeanPoolingWithANotice(string name)
    {
        using var fixture = new Fixture(name);
        using var folder = new SentenceFolder(name);   // no modules.json
        var log = new ListLogger();
        using var encoder = SentenceEncoder.Load(folder.Path, new SentenceEncoderOptions { Logger = log });
        Assert.False(encoder.NormalizesByDefault);
        Assert.Equal([PoolingMode.Mean], encoder.Pooling.Modes);
        Assert.Contains(log.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Information && e.Message.Contains("mean pooling"));
        using Tensor pooled = fixture.Expected("mean_pooled");
        AssertClose(encoder.EncodeTokens(Rows(fixture)), pooled, $"{name}: plain folder");
    }
}
