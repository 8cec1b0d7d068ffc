using System.Text.Json.Nodes;
using EncoderKit.FineTuning;
using EncoderKit.IO;
using EncoderKit.Modeling;
using static TorchSharp.torch;

namespace EncoderKit.Tests.FineTuning;

/// <summary>
/// A new task head on a base checkpoint: the config as transformers writes it (compared with config.json files
/// transformers wrote for the task fixtures), the base's weights kept, the head initialised as the family does, the
/// pretraining heads dropped, and the saved folder loading back to the same outputs.
/// </summary>
public sealed class TaskHeadsTests
{
    static JsonObject Config(string fixture) => JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceData.Model(fixture), "config.json")))!.AsObject();

    static ConfigJson BaseConfig(string fixture) => ConfigJson.Load(Path.Combine(ReferenceData.Model(fixture), "config.json"));

    // The fields transformers writes for the task, compared as JSON (key order included, as it sorts keys).
    static void AssertTaskFields(JsonObject expected, ConfigJson actual, params string[] fields)
    {
        foreach (string field in fields)
            Assert.True(JsonNode.DeepEquals(expected[field], actual.Root[field]), $"{field}: expected {expected[field]?.ToJsonString()}, got {actual.Root[field]?.ToJsonString()}");
        Assert.False(actual.Root.ContainsKey("num_labels"), "transformers does not write num_labels");
        var keys = actual.Root.Select(p => p.Key).ToList();
        Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
    }

    [Theory]
    [InlineData("bert", "bert-seqcls", FineTuningTask.TextClassification, new[] { "negative", "neutral", "positive" }, new[] { "architectures", "id2label", "label2id" })]
    [InlineData("bert", "bert-seqcls-multilabel", FineTuningTask.MultiLabel, new[] { "sports", "politics", "science", "arts" }, new[] { "architectures", "id2label", "label2id", "problem_type" })]
    [InlineData("bert", "bert-seqcls-regression", FineTuningTask.Regression, new[] { "score" }, new[] { "architectures", "id2label", "label2id", "problem_type" })]
    [InlineData("bert", "bert-tokcls", FineTuningTask.TokenClassification, new[] { "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC" }, new[] { "architectures", "id2label", "label2id", "problem_type" })]
    [InlineData("bert", "bert-qa", FineTuningTask.QuestionAnswering, new string[0], new[] { "architectures", "id2label", "label2id", "problem_type" })]
    [InlineData("bert", "bert-mc", FineTuningTask.MultipleChoice, new string[0], new[] { "architectures", "id2label", "label2id", "problem_type" })]
    [InlineData("modernbert", "modernbert-seqcls", FineTuningTask.TextClassification, new[] { "negative", "neutral", "positive" }, new[] { "architectures", "problem_type" })]
    [InlineData("modernbert", "modernbert-tokcls", FineTuningTask.TokenClassification, new[] { "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC" }, new[] { "architectures", "problem_type" })]
    [InlineData("retrieva_bert", "retrieva_bert-seqcls", FineTuningTask.TextClassification, new[] { "negative", "neutral", "positive" }, new[] { "architectures", "problem_type", "auto_map" })]
    [InlineData("retrieva_bert", "retrieva_bert-tokcls", FineTuningTask.TokenClassification, new[] { "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC" }, new[] { "architectures", "problem_type", "auto_map" })]
    [InlineData("modernbert", "modernbert-qa", FineTuningTask.QuestionAnswering, new string[0], new[] { "architectures", "id2label", "label2id", "problem_type" })]
    [InlineData("modernbert", "modernbert-mc", FineTuningTask.MultipleChoice, new string[0], new[] { "architectures", "id2label", "label2id", "problem_type" })]
    [InlineData("retrieva_bert", "retrieva_bert-qa", FineTuningTask.QuestionAnswering, new string[0], new[] { "architectures", "id2label", "label2id", "problem_type", "auto_map" })]
    [InlineData("retrieva_bert", "retrieva_bert-mc", FineTuningTask.MultipleChoice, new string[0], new[] { "architectures", "id2label", "label2id", "problem_type", "auto_map" })]
    public void ConfigIsWhatTransformersWrites(string baseFixture, string taskFixture, FineTuningTask task, string[] labels, string[] fields)
    {
        JsonObject expected = Config(taskFixture);
        // Label fixtures' own label names (the modernbert and retrieva ones may differ from the bert ones): use theirs where present.
        if (expected["id2label"] is JsonObject id2label && task.HasLabels())
            labels = [.. Enumerable.Range(0, id2label.Count).Select(i => id2label[i.ToString(System.Globalization.CultureInfo.InvariantCulture)]!.GetValue<string>())];
        ConfigJson actual = TaskHeads.ConfigFor(BaseConfig(baseFixture), task, labels);
        AssertTaskFields(expected, actual, fields);
    }

    [Fact]
    public void TheLlamaStyleEncoderHasNoTaskHeadLayout()
    {
        var error = Assert.Throws<EncoderKitException>(() => TaskHeads.ConfigFor(BaseConfig("llama_enc"), FineTuningTask.TextClassification, ["a", "b"]));
        Assert.Contains("llama_enc", error.Message, StringComparison.Ordinal);
        Assert.Contains("text-classification", error.Message, StringComparison.Ordinal);
        var nomic = Assert.Throws<EncoderKitException>(() => TaskHeads.ConfigFor(BaseConfig("nomic_bert"), FineTuningTask.TokenClassification, ["O"]));
        Assert.Contains("nomic_bert", nomic.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BaseWeightsAreKeptTheHeadIsNewAndTheSavedFolderLoadsBackToTheSameOutputs()
    {
        using var folder = new TempFolder();
        using var scope = NewDisposeScope();
        string baseFolder = ReferenceData.Model("bert");
        using EncoderModel model = TaskHeads.Create(baseFolder, FineTuningTask.TextClassification, ["negative", "neutral", "positive"], seed: 7);
        Assert.Null(model.Spec.Heads.Mlm);   // the MLM head of BertForMaskedLM is dropped
        var parameters = model.Network.named_parameters().ToDictionary(p => p.name, p => p.parameter);

        Assert.DoesNotContain(parameters.Keys, name => name.StartsWith("nsp.", StringComparison.Ordinal));
        using (EncoderModel original = EncoderModel.Load(baseFolder))
        {
            var stored = original.Network.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, weight) in parameters.Where(p => !p.Key.StartsWith("classifier.", StringComparison.Ordinal)))
                Assert.True(stored.TryGetValue(name, out var expected) && weight.eq(expected).all().item<bool>(), $"{name} differs from the base checkpoint's");
        }

        // BertPreTrainedModel._init_weights: classifier weight normal(0, 0.02), bias zero (3 × 64 draws: std within ±25 %).
        Tensor classifier = parameters["classifier.output.weight"];
        Assert.Equal([3L, 64L], classifier.shape);
        double std = classifier.std().item<float>();
        Assert.InRange(std, 0.015, 0.025);
        Assert.Equal(0f, parameters["classifier.output.bias"].abs().max().item<float>());

        model.Save(folder.Path);
        Tensor ids = tensor(new long[,] { { 101, 1188, 1110, 170, 2774, 102 } });
        using var reloaded = EncoderModel.Load(folder.Path);
        using EncoderOutputs before = model.Forward(ids), after = reloaded.Forward(ids);
        Assert.True(before.ClassifierLogits!.eq(after.ClassifierLogits!).all().item<bool>(), "the reloaded model's logits differ");
        JsonObject saved = JsonNode.Parse(File.ReadAllText(folder.File("config.json")))!.AsObject();
        Assert.Equal("BertForSequenceClassification", saved["architectures"]![0]!.GetValue<string>());
        Assert.Equal("single_label_classification", saved["problem_type"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(Config("bert-seqcls")["label2id"], saved["label2id"]));
    }

    [Theory]
    [InlineData("modernbert", FineTuningTask.TokenClassification)]
    [InlineData("modernbert", FineTuningTask.MultipleChoice)]
    [InlineData("retrieva_bert", FineTuningTask.QuestionAnswering)]
    [InlineData("retrieva_bert", FineTuningTask.TextClassification)]
    [InlineData("nomic_bert", FineTuningTask.Regression)]
    public void EveryFamilysNewHeadSavesAndLoadsBackToTheSameOutputs(string fixture, FineTuningTask task)
    {
        using var folder = new TempFolder();
        using var scope = NewDisposeScope();
        IReadOnlyList<string> labels = task switch
        {
            FineTuningTask.Regression => ["LABEL_0"],
            FineTuningTask.TokenClassification => ["B-X", "I-X", "O"],
            FineTuningTask.TextClassification => ["a", "b"],
            _ => [],
        };
        using EncoderModel model = TaskHeads.Create(ReferenceData.Model(fixture), task, labels, seed: 3);
        model.Save(folder.Path);
        using EncoderModel reloaded = EncoderModel.Load(folder.Path);
        Assert.Equal(model.Spec.Heads.All.Select(h => h.Output), reloaded.Spec.Heads.All.Select(h => h.Output));
        Assert.Null(reloaded.Spec.Heads.Mlm);
        Tensor ids = tensor(new long[] { 5, 17, 42, 8, 9, 23 });
        ids = task == FineTuningTask.MultipleChoice ? ids.view(1, 2, 3) : ids.view(1, 6);
        using EncoderOutputs before = model.Forward(ids), after = reloaded.Forward(ids);
        Assert.NotEmpty(before.Heads);
        foreach (var ((name, expected), (_, actual)) in before.Heads.Zip(after.Heads))
            Assert.True(expected.eq(actual).all().item<bool>(), $"{name} differs after reloading");
    }
}
