using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.IO;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// NomicBertForSequenceClassification, the class of nomic's remote code (modeling_hf_nomic_bert.py): bert.pooler =
/// tanh(dense(h[:, 0])), dropout, classifier = Linear(n_embd, num_labels). No reference fixture exists (the remote
/// code cannot run here), so the logits are checked against that formula computed here in float64 over the model's
/// own last hidden state, with the pooler and classifier tensors read by their Hugging Face names from the saved
/// checkpoint. Tolerance 1e-5: float32 matmuls of width 64 against float64; a missing tanh, a pooled token other
/// than the first, or a transposed weight moves logits by >1e-2.
/// </summary>
public sealed class NomicBertClassifierTests
{
    static ConfigJson Config(string folder)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceData.Model("nomic_bert"), "config.json")))!.AsObject();
        config["architectures"] = new JsonArray("NomicBertForSequenceClassification");
        config["id2label"] = new JsonObject { ["0"] = "negative", ["1"] = "positive" };
        config["label2id"] = new JsonObject { ["negative"] = 0, ["positive"] = 1 };
        config["embd_pdrop"] = 0.3;
        config["resid_pdrop"] = 0.1;
        return ConfigJson.Parse(config.ToJsonString(), Path.Combine(folder, "config.json"));
    }

    [Fact]
    public void LogitsAreTheClassifierOfTheTanhPooledFirstTokenInTheRemoteCodesLayout()
    {
        using var folder = new TempFolder();
        string saved = Path.Combine(folder.Path, "saved");
        using (var random = EncoderModel.CreateRandom(Config(folder.Path), seed: 5))
        {
            // The remote code's classifier dropout defaults to embd_pdrop, not resid_pdrop.
            Assert.Equal(0.3, random.Spec.Dropout.Classifier);
            random.Save(saved);
        }
        using var model = EncoderModel.Load(saved);
        Assert.Equal(["negative", "positive"], new EncoderKit.Inference.TextClassifier(model).Labels);

        using var scope = NewDisposeScope();
        using var weights = SafetensorsFile.Open(Path.Combine(saved, "model.safetensors"));
        Tensor Stored(string name) => TorchTensors.Read(weights, name).to_type(ScalarType.Float64);
        Tensor poolerWeight = Stored("bert.pooler.dense.weight"), poolerBias = Stored("bert.pooler.dense.bias");
        Tensor classifierWeight = Stored("classifier.weight"), classifierBias = Stored("classifier.bias");
        Assert.Equal([2L, 64], classifierWeight.shape);

        long[] ids = [101, 2023, 2003, 1037, 3231, 102, 101, 7592, 102, 0, 0, 0];
        Tensor input = tensor(ids, [2, 6]), mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 }, [2, 6]);
        using var outputs = model.Forward(input, mask);
        Tensor first = outputs.LastHiddenState.to_type(ScalarType.Float64).select(1, 0);                  // [B, H]
        Tensor expected = (first.matmul(poolerWeight.t()) + poolerBias).tanh().matmul(classifierWeight.t()) + classifierBias;
        TensorAssert.Close(outputs.ClassifierLogits!, expected, 1e-5, what: "classifier_logits");

        // Padding never changes a row: the second row alone gives its logits.
        using var alone = model.Forward(tensor(ids[6..9], [1, 3]));
        TensorAssert.Close(alone.ClassifierLogits!, outputs.ClassifierLogits![1..2], 1e-5, what: "padded row vs alone");
    }
}
