using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Tests.Embeddings;

/// <summary>
/// Precisions as sentence-transformers' quantize_embeddings defines them, and its four similarity functions, on
/// numbers worked out by hand here.
/// </summary>
public sealed class QuantizationAndSimilarityTests
{
    [Fact]
    public void Int8AndUInt8BucketEachDimensionBetweenItsMinimumAndMaximum()
    {
        float[][] embeddings = [[0f, 1f, -1f, 0.5f], [1f, 0f, 1f, -0.5f], [0.5f, 0.25f, 0f, 0f]];
        // Dimension 0: start 0, step float32(1/255), a hair above 1/255, all in float32 as numpy computes it. So 0 → 0;
        // 1 → 254.99998, which truncates to 254 (the maximum does not reach 255); 0.5 → 127.49999 → 127 (uint8) and,
        // after −128, −0.50001 truncates toward zero to 0 (int8), not −1: numpy's cast, not rounding.
        QuantizedEmbeddings u = EmbeddingQuantizer.Quantize(embeddings, EmbeddingPrecision.UInt8);
        QuantizedEmbeddings s = EmbeddingQuantizer.Quantize(embeddings, EmbeddingPrecision.Int8);
        Assert.False(u.Signed);
        Assert.True(s.Signed);
        Assert.Equal([0, 254, 0, 254], u.Values(0));
        Assert.Equal([254, 0, 254, 0], u.Values(1));
        Assert.Equal([127, 63, 127, 127], u.Values(2));
        Assert.Equal([-128, 126, -128, 126], s.Values(0));
        Assert.Equal([126, -128, 126, -128], s.Values(1));
        Assert.Equal([0, -64, 0, 0], s.Values(2));

        // Given ranges win over the embeddings' own; with range [−1, 0.5] the step is exact and 0.5 lands in 255.
        QuantizedEmbeddings ranged = EmbeddingQuantizer.Quantize([[0.5f, 0.5f]], EmbeddingPrecision.UInt8, [[0f, -1f], [1f, 0.5f]]);
        Assert.Equal([127, 255], ranged.Values(0));
        // From calibration embeddings.
        QuantizedEmbeddings calibrated = EmbeddingQuantizer.Quantize([[0.5f]], EmbeddingPrecision.UInt8, calibration: [[0f], [2f]]);
        Assert.Equal([63], calibrated.Values(0));
        // One embedding: every range is empty, 0/0 is NaN, and numpy casts NaN to 0.
        Assert.Equal([0, 0], EmbeddingQuantizer.Quantize([[0.3f, -2f]], EmbeddingPrecision.Int8).Values(0));
    }

    [Fact]
    public void BinaryPacksSignBitsMostSignificantFirst()
    {
        float[] e = [1f, -1f, 0f, 2f, -3f, 0.1f, 0f, 5f, /* all positive */ 1, 1, 1, 1, 1, 1, 1, 1, /* none */ 0, 0, -1, -1, 0, 0, -1, 0];
        QuantizedEmbeddings ubinary = EmbeddingQuantizer.Quantize([e], EmbeddingPrecision.UBinary);
        QuantizedEmbeddings binary = EmbeddingQuantizer.Quantize([e], EmbeddingPrecision.Binary);
        Assert.Equal([0b1001_0101, 255, 0], ubinary.Values(0));   // x > 0 only: zero is not positive
        Assert.Equal([0b1001_0101 - 128, 127, -128], binary.Values(0));
        Assert.Equal(24, binary.Dimensions);
        var error = Assert.Throws<EncoderKitException>(() => EmbeddingQuantizer.Quantize([new float[12]], EmbeddingPrecision.Binary));
        Assert.Contains("multiple of 8", error.Message);
        Assert.True(EmbeddingQuantizer.TryParse("ubinary", out EmbeddingPrecision p) && p == EmbeddingPrecision.UBinary);
        Assert.False(EmbeddingQuantizer.TryParse("int4", out _));
        Assert.False(EmbeddingQuantizer.TryParse("2", out _));
    }

    static readonly float[][] A = [[1, 0], [0, 2]];
    static readonly float[][] Bv = [[1, 1], [3, 4]];

    [Theory]
    [InlineData(SimilarityFunction.Dot, new float[] { 1, 3, 2, 8 })]
    [InlineData(SimilarityFunction.Cosine, new float[] { 0.70710678f, 0.6f, 0.70710678f, 0.8f })]
    [InlineData(SimilarityFunction.Euclidean, new float[] { -1, -4.47213595f, -1.41421356f, -3.60555128f })]
    [InlineData(SimilarityFunction.Manhattan, new float[] { -1, -6, -2, -5 })]
    public void SimilarityFunctionsAsTheLibraryDefinesThem(SimilarityFunction function, float[] expected)
    {
        float[][] matrix = Similarity.Matrix(A, Bv, function);
        Assert.Equal(2, matrix.Length);
        for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            Assert.Equal(expected[i * 2 + j], matrix[i][j], 5);
        float[] pairwise = Similarity.Pairwise(A, Bv, function);
        Assert.Equal(expected[0], pairwise[0], 5);
        Assert.Equal(expected[3], pairwise[1], 5);
        Assert.True(Similarity.TryParse(Similarity.Name(function), out SimilarityFunction back) && back == function);
    }

    [Fact]
    public void CosineOfAZeroVectorIsZeroAndMismatchedWidthsAreErrors()
    {
        Assert.Equal(0f, Similarity.Score([0f, 0f], [1f, 2f]));
        Assert.Throws<EncoderKitException>(() => Similarity.Matrix([[1f, 2f]], [[1f, 2f, 3f]]));
        Assert.Throws<EncoderKitException>(() => Similarity.Pairwise([[1f]], [[1f], [2f]]));
    }

    [Fact]
    public void ExactSearchKeepsTheBestKBestFirstAndTiesInCorpusOrder()
    {
        float[][] corpus = [[1, 0], [0, 1], [1, 1], [2, 0], [-1, 0]];
        IReadOnlyList<SearchHit> hits = ExactSearch.TopK([1, 0], corpus, 3);
        // Rows 0 and 3 both score cosine 1: the earlier row first.
        Assert.Equal([0, 3, 2], hits.Select(h => h.Index));
        Assert.Equal(1f, hits[0].Score, 6);
        Assert.Equal(0.70710678f, hits[2].Score, 5);
        Assert.Equal(5, ExactSearch.TopK([1, 0], corpus, 50).Count);
        Assert.Equal(4, ExactSearch.TopK([1, 0], corpus, 50)[^1].Index);
        Assert.Throws<EncoderKitException>(() => ExactSearch.TopK([1, 0], corpus, 0));
    }

    [Fact]
    public void TheCorpusCacheIsKeyedByModelSettingsAndText()
    {
        using var folder = SentenceFolder.MeanNormalized();
        using var encoder = SentenceEncoder.Load(folder.Path);
        string dir = Path.Combine(folder.Path, "cache");
        var cache = new CorpusEmbeddingCache(dir);
        string[] corpus = ["first document", "the second one", "and a third"];

        var (embedded, fromCache) = cache.GetOrEmbed(encoder, corpus, null, "search_document: ");
        Assert.False(fromCache);
        var (again, fromCacheAgain) = cache.GetOrEmbed(encoder, corpus, null, "search_document: ");
        Assert.True(fromCacheAgain);
        for (int i = 0; i < corpus.Length; i++) Assert.Equal(embedded[i], again[i]);
        float[][] direct = encoder.Encode(corpus, prompt: "search_document: ");
        for (int i = 0; i < corpus.Length; i++) Assert.Equal(direct[i], again[i]);

        Assert.False(cache.GetOrEmbed(encoder, corpus, null, "search_query: ").FromCache);                 // another prompt
        Assert.False(cache.GetOrEmbed(encoder, [.. corpus, "a fourth"], null, "search_document: ").FromCache);  // other text
        Assert.False(cache.GetOrEmbed(encoder, corpus, null, "search_document: ", new EmbedOptions { TruncateDim = 16 }).FromCache);
        Assert.Equal(4, Directory.GetFiles(dir, "*.safetensors").Length);

        // A damaged file is embedded again and replaced.
        string file = Directory.GetFiles(dir).Single(f => f.Contains(CorpusEmbeddingCache.Key(encoder, corpus, "search_document: ", 64, true)));
        File.WriteAllText(file, "not safetensors");
        Assert.False(cache.GetOrEmbed(encoder, corpus, null, "search_document: ").FromCache);
        Assert.True(cache.GetOrEmbed(encoder, corpus, null, "search_document: ").FromCache);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }
}
