using EncoderKit.IO;
using EncoderKit.SentenceEmbeddings;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Embeddings;

/// <summary>
/// Each pooling mode against values computed here with plain loops over the same numbers, from the definitions in
/// sentence-transformers' Pooling module; and both forms of 1_Pooling/config.json.
/// </summary>
public sealed class PoolingTests
{
    const int B = 3, L = 6, H = 5;
    static readonly int[] Lengths = [6, 3, 1];

    static float[,,] Tokens()
    {
        var random = new Random(7);
        var t = new float[B, L, H];
        for (int b = 0; b < B; b++)
        for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++)
            t[b, l, h] = (float)(random.NextDouble() * 4 - 2);
        return t;
    }

    static float[,] Mask(int promptLength = 0)
    {
        var m = new float[B, L];
        for (int b = 0; b < B; b++)
        for (int l = promptLength; l < Lengths[b]; l++)
            m[b, l] = 1;
        return m;
    }

    static float[][] Run(PoolingConfig config, int promptLength = 0)
    {
        float[,,] tokens = Tokens();
        using Tensor t = tensor(tokens.Cast<float>().ToArray(), [B, L, H]);
        var mask = new long[B * L];
        for (int b = 0; b < B; b++)
        for (int l = 0; l < Lengths[b]; l++)
            mask[b * L + l] = 1;
        using Tensor m = tensor(mask, [B, L]);
        using Tensor pooled = Pooling.Pool(t, m, config, promptLength);
        float[] flat = pooled.data<float>().ToArray();
        int width = (int)pooled.shape[1];
        return Enumerable.Range(0, B).Select(b => flat[(b * width)..((b + 1) * width)]).ToArray();
    }

    /// <summary>The mode's definition, row by row, with the (prompt-excluding) mask.</summary>
    static float[] Expected(PoolingMode mode, int b, int promptLength = 0)
    {
        float[,,] t = Tokens();
        float[,] m = Mask(promptLength);
        var result = new float[H];
        for (int h = 0; h < H; h++)
        {
            double sum = 0, count = 0, weighted = 0, weights = 0, max = double.NegativeInfinity;
            int last = 0;
            for (int l = 0; l < L; l++)
            {
                // Masked positions count as -1e9 for max, and as 0 in every sum.
                max = Math.Max(max, m[b, l] > 0 ? t[b, l, h] : -1e9);
                sum += m[b, l] * t[b, l, h];
                count += m[b, l];
                weighted += m[b, l] * (l + 1) * t[b, l, h];
                weights += m[b, l] * (l + 1);
                if (m[b, l] > 0) last = l;
            }
            result[h] = mode switch
            {
                PoolingMode.Cls => t[b, 0, h],
                PoolingMode.Max => (float)max,
                PoolingMode.Mean => (float)(sum / Math.Max(count, 1e-9)),
                PoolingMode.MeanSqrtLen => (float)(sum / Math.Sqrt(Math.Max(count, 1e-9))),
                PoolingMode.WeightedMean => (float)(weighted / Math.Max(weights, 1e-9)),
                PoolingMode.LastToken => m[b, last] * t[b, last, h],
                _ => throw new ArgumentOutOfRangeException(nameof(mode)),
            };
        }
        return result;
    }

    static void Close(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    public static TheoryData<PoolingMode> Modes => new(Enum.GetValues<PoolingMode>());

    [Theory, MemberData(nameof(Modes))]
    public void EachModeMatchesItsDefinition(PoolingMode mode)
    {
        float[][] pooled = Run(new PoolingConfig(H, [mode]));
        for (int b = 0; b < B; b++) Close(Expected(mode, b), pooled[b], $"{mode} row {b}");
    }

    [Fact]
    public void SeveralModesConcatenateInTheLibrarysOrder()
    {
        // Listed out of order on purpose: the library concatenates cls, max, mean, mean_sqrt_len, weightedmean, lasttoken.
        PoolingMode[] modes = [PoolingMode.LastToken, PoolingMode.Mean, PoolingMode.Cls, PoolingMode.Max];
        var config = new PoolingConfig(H, modes);
        Assert.Equal([PoolingMode.Cls, PoolingMode.Max, PoolingMode.Mean, PoolingMode.LastToken], config.Modes);
        Assert.Equal(4 * H, config.OutputDimension);
        float[][] pooled = Run(config);
        for (int b = 0; b < B; b++)
            Close(config.Modes.SelectMany(m => Expected(m, b)).ToArray(), pooled[b], $"row {b}");
    }

    [Theory]
    [InlineData(PoolingMode.Mean)]
    [InlineData(PoolingMode.Max)]
    [InlineData(PoolingMode.WeightedMean)]
    [InlineData(PoolingMode.LastToken)]
    public void WithoutThePromptItsTokensAreLeftOut(PoolingMode mode)
    {
        const int prompt = 2;
        float[][] pooled = Run(new PoolingConfig(H, [mode], includePrompt: false), prompt);
        float[][] included = Run(new PoolingConfig(H, [mode], includePrompt: true), prompt);
        for (int b = 0; b < B; b++)
        {
            Close(Expected(mode, b, prompt), pooled[b], $"{mode} row {b} without prompt");
            Close(Expected(mode, b), included[b], $"{mode} row {b} with prompt");
        }
    }

    static PoolingConfig Parse(string json) => PoolingConfig.Parse(ConfigJson.Parse(json, "1_Pooling/config.json"));

    [Fact]
    public void TheClassicFlagsAndTheNewerStringBothRead()
    {
        PoolingConfig classic = Parse("""
            {"word_embedding_dimension": 768, "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false,
             "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false,
             "pooling_mode_weightedmean_tokens": false, "pooling_mode_lasttoken": false, "include_prompt": true}
            """);
        Assert.Equal([PoolingMode.Cls], classic.Modes);
        Assert.Equal(768, classic.OutputDimension);

        // Absent flags take the library's defaults: mean on, the rest off, prompt included.
        PoolingConfig sparse = Parse("""{"word_embedding_dimension": 64, "pooling_mode_max_tokens": true}""");
        Assert.Equal([PoolingMode.Max, PoolingMode.Mean], sparse.Modes);
        Assert.True(sparse.IncludePrompt);

        foreach (var (name, mode) in PoolingConfig.ModeNames)
        {
            PoolingConfig newer = Parse($$"""{"word_embedding_dimension": 64, "pooling_mode": "{{name.ToUpperInvariant()}}", "pooling_mode_mean_tokens": true, "include_prompt": false}""");
            Assert.Equal([mode], newer.Modes);   // the string overrides every flag
            Assert.False(newer.IncludePrompt);
        }
    }

    [Fact]
    public void BadPoolingConfigsNameTheirKey()
    {
        var unknown = Assert.Throws<EncoderKitException>(() => Parse("""{"word_embedding_dimension": 64, "pooling_mode": "median"}"""));
        Assert.Equal("pooling_mode", unknown.Field);
        Assert.Contains("median", unknown.Message);
        var none = Assert.Throws<EncoderKitException>(() => Parse("""{"word_embedding_dimension": 64, "pooling_mode_mean_tokens": false}"""));
        Assert.Equal(ErrorKind.BadConfig, none.Kind);
        var missing = Assert.Throws<EncoderKitException>(() => Parse("""{"pooling_mode": "mean"}"""));
        Assert.Equal("word_embedding_dimension", missing.Field);
    }
}
