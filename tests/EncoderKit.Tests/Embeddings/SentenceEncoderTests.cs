using EncoderKit.Modeling;
using EncoderKit.Runtime;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Tokenization;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Embeddings;

/// <summary>
/// How <see cref="SentenceEncoder"/> treats texts, checked against computations done here step by step with the
/// tokenizer and the encoder (the bert fixture: 2 layers, hidden 64, the bert-base-cased tokenizer).
/// </summary>
public sealed class SentenceEncoderTests
{
    static readonly string[] Texts =
    [
        "A short one.",
        "This sentence is quite a bit longer than the first, with several more words in it to make it so.",
        "Medium length text here, for the middle.",
        "Tiny",
        "Another fairly long sentence, although not the longest, sits here in the fifth place.",
        "",
        "Six words make up this line.",
    ];

    /// <summary>The reference computation: ids → encoder → mean over the chosen positions → L2 normalisation.</summary>
    static float[] Independent(EncoderModel model, int[] ids, int from = 0, bool normalize = true)
    {
        using var scope = NewDisposeScope();
        using var outputs = model.Forward(tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]), null, null, Outputs.LastHiddenState);
        Tensor kept = outputs.LastHiddenState[0].narrow(0, from, ids.Length - from);
        Tensor mean = kept.mean([0L]);
        if (normalize) mean = mean / mean.norm();
        return mean.data<float>().ToArray();
    }

    static void Close(float[] expected, float[] actual, double tolerance = 1e-5, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= tolerance, $"{what}: max abs difference {worst:E3} exceeds {tolerance:E1}");
    }

    [Fact]
    public void ATextGoesTokenizerEncoderMeanNormalize()
    {
        using var folder = SentenceFolder.MeanNormalized();
        using var encoder = SentenceEncoder.Load(folder.Path);
        Tokenizer tokenizer = Tokenizer.FromFolder(folder.Path);
        float[][] got = encoder.Encode(Texts);
        for (int i = 0; i < Texts.Length; i++)
            Close(Independent(encoder.Model, tokenizer.Encode(Texts[i]).Ids), got[i], what: $"text {i}");
    }

    [Fact]
    public void ResultsComeBackInInputOrderWhateverTheBatching()
    {
        using var folder = SentenceFolder.MeanNormalized();
        using var encoder = SentenceEncoder.Load(folder.Path);
        float[][] alone = Texts.Select(t => encoder.Encode(t)).ToArray();
        float[][] sorted = encoder.Encode(Texts, options: new EmbedOptions { BatchSize = 3 });
        float[][] unsorted = encoder.Encode(Texts, options: new EmbedOptions { BatchSize = 3, SortByLength = false });
        int[] shuffle = [4, 0, 6, 2, 5, 1, 3];
        float[][] shuffled = encoder.Encode(shuffle.Select(i => Texts[i]).ToArray(), options: new EmbedOptions { BatchSize = 2 });
        var reported = new List<int>();
        encoder.Encode(Texts, options: new EmbedOptions { BatchSize = 3, Progress = new Collect(reported) });
        for (int i = 0; i < Texts.Length; i++)
        {
            // Padding never changes a row: the same computation on fewer keys, up to float reassociation.
            Close(alone[i], sorted[i], what: $"sorted {i}");
            Close(alone[i], unsorted[i], what: $"unsorted {i}");
            Close(alone[shuffle[i]], shuffled[i], what: $"shuffled {i}");
        }
        Assert.Equal([3, 6, 7], reported);
        // Sorting really groups lengths: the longest three run together.
        IReadOnlyList<int[]> plan = BatchPlanner.Plan([5, 30, 12, 3, 22, 2, 9], new BatchLimits(MaxRows: 3));
        Assert.Equal([[1, 4, 2], [6, 0, 3], [5]], plan);
        Assert.True(BatchPlanner.PaddedTokens([5, 30, 12, 3, 22, 2, 9], plan) < BatchPlanner.PaddedTokens([5, 30, 12, 3, 22, 2, 9], BatchPlanner.Plan([5, 30, 12, 3, 22, 2, 9], new BatchLimits(MaxRows: 3, SortByLength: false))));
    }

    sealed class Collect(List<int> into) : IProgress<int>
    {
        public void Report(int value) => into.Add(value);
    }

    [Fact]
    public void APromptReachesTheTokenizerBeforeTheText()
    {
        using var folder = SentenceFolder.MeanNormalized(settings: new
        {
            prompts = new Dictionary<string, string> { ["query"] = "search_query: ", ["document"] = "search_document: " },
            default_prompt_name = (string?)null,
            similarity_fn_name = "dot",
        });
        using var encoder = SentenceEncoder.Load(folder.Path);
        Tokenizer tokenizer = Tokenizer.FromFolder(folder.Path);
        Assert.Equal(SimilarityFunction.Dot, encoder.SimilarityFunction);
        string text = "What is TSNE?";

        float[] literal = encoder.Encode(text, prompt: "search_query: ");
        Close(Independent(encoder.Model, tokenizer.Encode("search_query: " + text).Ids), literal, what: "prefix + text, tokenized together");
        Close(literal, encoder.Encode(text, promptName: "query"), what: "named prompt");
        Close(literal, encoder.Encode("search_query: " + text), what: "the prefix written out");
        Assert.True(Similarity.Score(literal, encoder.Encode(text)) < 0.9999f, "the prompt changed nothing");

        var error = Assert.Throws<EncoderKitException>(() => encoder.Encode(text, promptName: "passage"));
        Assert.Contains("query, document", error.Message);
    }

    [Fact]
    public void TheDefaultPromptAppliesUnlessAnotherOrAnEmptyOneIsGiven()
    {
        using var folder = SentenceFolder.MeanNormalized(settings: new
        {
            prompts = new Dictionary<string, string> { ["query"] = "search_query: ", ["document"] = "search_document: " },
            default_prompt_name = "document",
        });
        using var encoder = SentenceEncoder.Load(folder.Path);
        using var plainFolder = new SentenceFolder().Modules(("2_Normalize", "Normalize")).ClassicPooling();
        using var plain = SentenceEncoder.Load(plainFolder.Path);
        string text = "What is TSNE?";
        Close(plain.Encode("search_document: " + text), encoder.Encode(text), what: "default prompt");
        Close(plain.Encode("search_query: " + text), encoder.Encode(text, promptName: "query"), what: "named prompt over the default");
        Close(plain.Encode(text), encoder.Encode(text, prompt: ""), what: "an empty prompt turns the default off");
    }

    [Fact]
    public void WithoutIncludePromptThePromptTokensAreLeftOutOfPooling()
    {
        using var folder = new SentenceFolder().Modules(("2_Normalize", "Normalize")).ClassicPooling(includePrompt: false);
        using var encoder = SentenceEncoder.Load(folder.Path);
        Tokenizer tokenizer = Tokenizer.FromFolder(folder.Path);
        string prompt = "Represent this sentence for searching: ", text = "how do embeddings work";
        int[] ids = tokenizer.Encode(prompt + text).Ids;
        // The library counts the prompt alone (stripped), with its special tokens, minus one: [CLS] + the prompt's own tokens.
        int promptLength = tokenizer.Encode(prompt.Trim()).Length - 1;
        Assert.Equal(tokenizer.Encode(prompt.Trim(), options: new EncodeOptions { AddSpecialTokens = false }).Length + 1, promptLength);

        float[] got = encoder.Encode(text, prompt: prompt);
        Close(Independent(encoder.Model, ids, from: promptLength), got, what: "mean over the text's tokens only");
        Assert.True(Similarity.Score(Independent(encoder.Model, ids), got) < 0.9999f, "the prompt tokens were pooled");
        // Without a prompt nothing is left out.
        Close(Independent(encoder.Model, tokenizer.Encode(text).Ids), encoder.Encode(text), what: "no prompt");
    }

    [Fact]
    public void LongInputsAreTruncatedToMaxSeqLengthWithAWarning()
    {
        using var folder = SentenceFolder.MeanNormalized().WriteJson("sentence_bert_config.json", new { max_seq_length = 12, do_lower_case = false });
        var log = new ListLogger();
        using var encoder = SentenceEncoder.Load(folder.Path, new SentenceEncoderOptions { Logger = log });
        Assert.Equal(12, encoder.MaxSeqLength);
        Tokenizer tokenizer = Tokenizer.FromFolder(folder.Path);
        float[][] got = encoder.Encode([Texts[0], Texts[1]]);
        Encoding cut = tokenizer.Encode(Texts[1], options: EncodeOptions.Truncate(12));
        Assert.Equal(12, cut.Length);
        Assert.Equal(tokenizer.SepTokenId, cut.Ids[^1]);
        Close(Independent(encoder.Model, cut.Ids), got[1], what: "truncated text");
        Close(Independent(encoder.Model, tokenizer.Encode(Texts[0]).Ids), got[0], what: "short text untouched");
        var warning = Assert.Single(log.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains("1 of 2 inputs", warning.Message);
        Assert.Contains("12 tokens", warning.Message);

        // A max_seq_length past the learned positions is brought down to them, with a warning.
        using var tooLong = SentenceFolder.MeanNormalized().WriteJson("sentence_bert_config.json", new { max_seq_length = 4096 });
        var log2 = new ListLogger();
        using var clamped = SentenceEncoder.Load(tooLong.Path, new SentenceEncoderOptions { Logger = log2 });
        Assert.Equal(512, clamped.MaxSeqLength);
        Assert.Contains(log2.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("512 positions"));
        using var plainFolder = new SentenceFolder();
        using var plain = SentenceEncoder.Load(plainFolder.Path);
        Assert.Equal(512, plain.MaxSeqLength);   // plain folder, no tokenizer limit: config's max_position_embeddings
    }

    [Fact]
    public void TextsAreStrippedAndLowercasedWhenTheModelSaysSo()
    {
        using var folder = SentenceFolder.MeanNormalized().WriteJson("sentence_bert_config.json", new { max_seq_length = 128, do_lower_case = true });
        using var encoder = SentenceEncoder.Load(folder.Path);
        Tokenizer tokenizer = Tokenizer.FromFolder(folder.Path);   // cased: "Hello" and "hello" are different tokens
        Assert.NotEqual(tokenizer.Encode("Hello World").Ids, tokenizer.Encode("hello world").Ids);
        Close(Independent(encoder.Model, tokenizer.Encode("hello world").Ids), encoder.Encode("  Hello WORLD\t\n"), what: "lowercased and stripped");
        Assert.Equal("i\u0307stanbul", TextPreparation.Prepare("\u001f İSTANBUL \u3000", lowercase: true));
    }

    [Theory]
    [InlineData(false, "torch.nn.modules.activation.Tanh")]
    [InlineData(true, "torch.nn.modules.linear.Identity")]
    [InlineData(false, null)]
    public void DenseModulesRunWithTheirActivation(bool pickle, string? activation)
    {
        const int outFeatures = 16;
        var random = new Random(3);
        using var plain = new SentenceFolder();
        var weight = new float[outFeatures, plain.Hidden];
        for (int o = 0; o < outFeatures; o++)
        for (int i = 0; i < plain.Hidden; i++)
            weight[o, i] = (float)(random.NextDouble() - 0.5);
        float[] bias = Enumerable.Range(0, outFeatures).Select(o => o * 0.01f).ToArray();
        using var folder = new SentenceFolder().Modules(("2_Dense", "Dense"), ("3_Normalize", "Normalize")).ClassicPooling()
            .Dense("2_Dense", weight, bias, activation, pickle);
        using var encoder = SentenceEncoder.Load(folder.Path);
        using var pooledOnly = SentenceEncoder.Load(plain.Path);
        Assert.Equal(outFeatures, encoder.Dimension);
        var dense = Assert.IsType<DenseLayer>(Assert.Single(encoder.Layers));
        Assert.Equal(activation is null || activation.EndsWith("Identity") ? DenseActivation.Identity : DenseActivation.Tanh, dense.Activation);

        float[] pooled = pooledOnly.Encode(Texts[2]);
        var expected = new float[outFeatures];
        for (int o = 0; o < outFeatures; o++)
        {
            double y = bias[o];
            for (int i = 0; i < pooled.Length; i++) y += weight[o, i] * pooled[i];
            expected[o] = (float)(dense.Activation == DenseActivation.Tanh ? Math.Tanh(y) : y);
        }
        double norm = Math.Sqrt(expected.Sum(x => (double)x * x));
        Close(expected.Select(x => (float)(x / norm)).ToArray(), encoder.Encode(Texts[2]), what: "dense then normalize");
    }

    [Fact]
    public void ALayerNormModuleNormalisesTheSentenceVector()
    {
        float[] weight = Enumerable.Range(0, 64).Select(i => 0.5f + i / 64f).ToArray(), bias = Enumerable.Range(0, 64).Select(i => (i % 5) * 0.1f).ToArray();
        using var folder = new SentenceFolder().Modules(("2_LayerNorm", "LayerNorm")).ClassicPooling().LayerNorm("2_LayerNorm", weight, bias);
        using var plain = new SentenceFolder();
        using var encoder = SentenceEncoder.Load(folder.Path);
        using var pooledOnly = SentenceEncoder.Load(plain.Path);
        Assert.IsType<LayerNormLayer>(Assert.Single(encoder.Layers));
        float[] pooled = pooledOnly.Encode(Texts[1]);
        double mean = pooled.Average(x => (double)x), variance = pooled.Average(x => (x - mean) * (x - mean));
        float[] expected = pooled.Select((x, i) => (float)((x - mean) / Math.Sqrt(variance + 1e-5) * weight[i] + bias[i])).ToArray();
        Close(expected, encoder.Encode(Texts[1]), 1e-4, "layer norm (biased variance, eps 1e-5)");
    }

    [Fact]
    public void AnOldLayoutWithTheTransformerInASubfolderLoads()
    {
        using var folder = new SentenceFolder().MoveTransformerTo("0_Transformer").ClassicPooling()
            .WriteJson("0_Transformer/sentence_bert_config.json", new { max_seq_length = 32, do_lower_case = false })
            .WriteJson("modules.json", new object[]
            {
                new { idx = 0, name = "0", path = "0_Transformer", type = "sentence_transformers.models.Transformer" },
                new { idx = 1, name = "1", path = "1_Pooling", type = "sentence_transformers.models.Pooling" },
            });
        Assert.False(File.Exists(folder.File_("config.json")));
        using var encoder = SentenceEncoder.Load(folder.Path);
        using var reference = SentenceFolder.MeanNormalized();
        using var flat = SentenceEncoder.Load(reference.Path);
        Assert.Equal(32, encoder.MaxSeqLength);
        Assert.False(encoder.NormalizesByDefault);
        Close(flat.Encode(Texts[2], options: new EmbedOptions { Normalize = false }), encoder.Encode(Texts[2]), what: "same model, old layout");
    }

    [Fact]
    public void BadSentenceTransformersFilesAreErrorsThatNameThePlace()
    {
        using var unknown = new SentenceFolder().Modules(("2_WordWeights", "WordWeights")).ClassicPooling();
        var e1 = Assert.Throws<EncoderKitException>(() => SentenceEncoder.Load(unknown.Path));
        Assert.EndsWith("modules.json", e1.File);
        Assert.Equal("[2].type", e1.Field);

        using var wrongWidth = new SentenceFolder().Modules(("2_Dense", "Dense")).ClassicPooling().Dense("2_Dense", new float[4, 32], null, null);
        var e2 = Assert.Throws<EncoderKitException>(() => SentenceEncoder.Load(wrongWidth.Path));
        Assert.Contains("takes 32 features", e2.Message);

        using var badDefault = SentenceFolder.MeanNormalized(settings: new { prompts = new { query = "q: " }, default_prompt_name = "document" });
        var e3 = Assert.Throws<EncoderKitException>(() => SentenceEncoder.Load(badDefault.Path));
        Assert.Equal("default_prompt_name", e3.Field);

        using var badActivation = new SentenceFolder().Modules(("2_Dense", "Dense")).ClassicPooling().Dense("2_Dense", new float[4, 64], null, "my.custom.Swish");
        var e4 = Assert.Throws<EncoderKitException>(() => SentenceEncoder.Load(badActivation.Path));
        Assert.Equal("activation_function", e4.Field);

        using var noPoolingFolder = new SentenceFolder().Modules(("2_Normalize", "Normalize"));
        var e5 = Assert.Throws<EncoderKitException>(() => SentenceEncoder.Load(noPoolingFolder.Path));
        Assert.Contains("1_Pooling", e5.Message);

        using var fine = SentenceFolder.MeanNormalized();
        using var encoder = SentenceEncoder.Load(fine.Path);
        Assert.Throws<EncoderKitException>(() => encoder.Encode("x", options: new EmbedOptions { TruncateDim = 65 }));
    }

    [Fact]
    public async Task AsyncEncodingMatchesAndHonoursCancellation()
    {
        using var folder = SentenceFolder.MeanNormalized();
        using var encoder = SentenceEncoder.Load(folder.Path);
        float[][] sync = encoder.Encode(Texts);
        float[][] async = await encoder.EncodeAsync(Texts);
        for (int i = 0; i < Texts.Length; i++) Close(sync[i], async[i]);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => encoder.EncodeAsync(Texts, cancellationToken: cancelled.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => encoder.Encode(Texts, cancellationToken: cancelled.Token));
    }
}
