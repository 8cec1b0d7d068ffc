using System.Text.Json.Nodes;
using EncoderKit.IO;
using EncoderKit.Modeling;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// Token classification, extractive QA and multiple choice beyond the reference outputs (ConformanceTests): a random
/// model built from the config has the head the checkpoint carries, multiple-choice inputs are checked and regrouped,
/// a checkpoint whose head disagrees with its config fails by tensor name, and classifier dropout acts only in training.
/// </summary>
public sealed class TaskHeadTests
{
    public static TheoryData<string> TaskFixtures => new(ReferenceFixtures.All.Where(f => f.EndsWith("-tokcls") || f.EndsWith("-qa") || f.EndsWith("-mc")));

    static ConfigJson Config(string fixture, Action<JsonObject>? edit = null)
    {
        string file = Path.Combine(ReferenceData.Model(fixture), "config.json");
        JsonObject root = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        edit?.Invoke(root);
        return ConfigJson.Parse(root.ToJsonString(), file);
    }

    static string[] TensorNames(string file)
    {
        using var weights = SafetensorsFile.Open(file);
        return weights.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray();
    }

    [Theory, MemberData(nameof(TaskFixtures))]
    public void CreateRandomBuildsTheHeadTheArchitectureNamesAndSavesItInTheFamilysLayout(string fixture)
    {
        using var random = EncoderModel.CreateRandom(Config(fixture), seed: 3);
        using var loaded = EncoderModel.Load(ReferenceData.Model(fixture));
        Assert.Equal(loaded.Spec.Heads.ToString(), random.Spec.Heads.ToString());
        using var saved = new TempFolder();
        random.Save(saved.Path);
        Assert.Equal(TensorNames(Path.Combine(ReferenceData.Model(fixture), "model.safetensors")), TensorNames(saved.File("model.safetensors")));
    }

    [Fact]
    public void MultipleChoiceInputsRunAsRowsAndComeBackGroupedPerExample()
    {
        using var fixture = new Fixture("bert-mc");
        using var model = EncoderModel.Load(fixture.Folder);
        using var scope = NewDisposeScope();
        Tensor ids = fixture.InputIds, mask = fixture.AttentionMask, types = fixture.TokenTypeIds!;
        long batch = ids.shape[0], choices = ids.shape[1], length = ids.shape[2];
        using var grouped = model.Forward(ids, mask, types);
        using var rows = model.Forward(ids.reshape(-1, length), mask.reshape(-1, length), types.reshape(-1, length));
        Assert.Equal([batch, choices], grouped.ChoiceLogits!.shape);
        Assert.Equal([batch, choices, length, model.Spec.Hidden], grouped.LastHiddenState.shape);
        Assert.Equal([batch * choices], rows.ChoiceLogits!.shape);
        Assert.True(grouped.ChoiceLogits.flatten().equal(rows.ChoiceLogits).all().item<bool>(), "the same scores, grouped per example");
    }

    [Fact]
    public void ChoicesGivenToAModelWithoutAMultipleChoiceHeadAreRefusedByName()
    {
        using var model = EncoderModel.Load(ReferenceData.Model("bert-tokcls"));
        var error = Assert.Throws<EncoderKitException>(() => model.Forward(ones(2, 3, 5, ScalarType.Int64)));
        Assert.Equal(ErrorKind.BadInput, error.Kind);
        Assert.Equal("input_ids", error.Field);
        Assert.Contains("multiple-choice head", error.Problem);
    }

    [Fact]
    public void AMultipleChoiceMaskShapedUnlikeItsIdsIsRefusedByName()
    {
        using var model = EncoderModel.Load(ReferenceData.Model("bert-mc"));
        var error = Assert.Throws<EncoderKitException>(() => model.Forward(ones(2, 3, 5, ScalarType.Int64), ones(2, 5, ScalarType.Int64)));
        Assert.Equal("attention_mask", error.Field);
        var fourDimensions = Assert.Throws<EncoderKitException>(() => model.Forward(ones(2, 3, 5, 1, ScalarType.Int64)));
        Assert.Equal("input_ids", fourDimensions.Field);
        Assert.Contains("[batch, choices, length]", fourDimensions.Problem);
    }

    [Theory]
    [InlineData("bert-tokcls", "classifier.weight")]
    [InlineData("modernbert-tokcls", "classifier.weight")]
    [InlineData("retrieva_bert-tokcls", "classifier.weight")]
    public void AHeadWithMoreLabelsThanTheConfigSaysFailsNamingItsTensor(string fixture, string tensor)
    {
        using var folder = TempFolder.FromReference(fixture);
        JsonObject root = JsonNode.Parse(File.ReadAllText(folder.File("config.json")))!.AsObject();
        root.Remove("id2label");
        root.Remove("label2id");
        root["num_labels"] = 4;
        File.WriteAllText(folder.File("config.json"), root.ToJsonString());
        var error = Assert.Throws<EncoderKitException>(() => EncoderModel.Load(folder.Path).Dispose());
        Assert.Equal(ErrorKind.BadCheckpoint, error.Kind);
        Assert.Equal(tensor, error.Field);
        Assert.Contains("expected [4,", error.Problem);
    }

    [Theory]
    [InlineData("bert-tokcls", "BertModel")]
    [InlineData("retrieva_bert-mc", "RetrievaBertModel")]
    public void ClassifierTensorsTheArchitectureDoesNotNameMatchNothing(string fixture, string architecture)
    {
        // Sequence, token and multiple-choice classifiers all store "classifier.*": only the architecture tells them apart.
        using var folder = TempFolder.FromReference(fixture);
        JsonObject root = JsonNode.Parse(File.ReadAllText(folder.File("config.json")))!.AsObject();
        root["architectures"] = new JsonArray(architecture);
        File.WriteAllText(folder.File("config.json"), root.ToJsonString());
        var error = Assert.Throws<EncoderKitException>(() => EncoderModel.Load(folder.Path).Dispose());
        Assert.Contains("match nothing in the model: classifier.bias, classifier.weight", error.Problem);
    }

    [Theory]
    [InlineData("bert-seqcls-regression", ProblemType.Regression)]
    [InlineData("bert-seqcls-multilabel", ProblemType.MultiLabel)]
    [InlineData("retrieva_bert-seqcls", ProblemType.SingleLabel)]
    public void ProblemTypeIsReadFromTheConfig(string fixture, ProblemType expected)
    {
        using var model = EncoderModel.Load(ReferenceData.Model(fixture));
        Assert.Equal(expected, model.Spec.Heads.Get<EncoderKit.Modeling.Heads.ClassifierSpec>()!.Problem);
    }

    [Theory]
    [InlineData("problem_type", "\"multi_class\"")]
    [InlineData("num_labels", "5")]
    [InlineData("label2id", "{\"negative\": 0, \"neutral\": 2, \"positive\": 1}")]
    public void LabelFieldsThatDisagreeAreRefusedByName(string field, string json)
    {
        // retrieva_bert-seqcls: id2label negative / neutral / positive, single_label_classification.
        var error = Assert.Throws<EncoderKitException>(() => EncoderModel.CreateRandom(Config("retrieva_bert-seqcls", root => root[field] = JsonNode.Parse(json))).Dispose());
        Assert.Equal(ErrorKind.BadConfig, error.Kind);
        Assert.StartsWith(field, error.Field);
    }

    [Fact]
    public void ClassifierDropoutActsInTrainingOnly()
    {
        // Every other dropout off, so only the classifier's can make two passes differ.
        using var model = EncoderModel.CreateRandom(Config("bert-tokcls", root =>
        {
            root["hidden_dropout_prob"] = 0.0;
            root["attention_probs_dropout_prob"] = 0.0;
            root["classifier_dropout"] = 0.5;
        }), seed: 1);
        using var fixture = new Fixture("bert-tokcls");
        using var scope = NewDisposeScope();
        EncoderOutputs Run() => model.Network.Forward(fixture.InputIds, fixture.AttentionMask, fixture.TokenTypeIds, Outputs.TokenLogits);
        model.Network.eval();
        using (no_grad())
        {
            using var first = Run();
            using var second = Run();
            Assert.True(first.TokenLogits!.equal(second.TokenLogits!).all().item<bool>(), "eval: no dropout");
            model.Network.train();
            using var training = Run();
            Assert.True(training.LastHiddenState.equal(first.LastHiddenState).all().item<bool>(), "only the classifier drops");
            Assert.False(training.TokenLogits!.equal(first.TokenLogits!).all().item<bool>(), "training: the classifier's input is dropped");
        }
    }
}
