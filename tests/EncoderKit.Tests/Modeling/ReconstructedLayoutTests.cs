using System.Text.RegularExpressions;
using EncoderKit.Compute;
using EncoderKit.IO;
using static TorchSharp.torch;
using EncoderKit.Tests.IO;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// The two reconstructed layouts (llama_enc, retrieva_bert) are guesses at names nobody could check. A real
/// checkpoint that differs must fail the load naming every tensor that did not match, never half-load; and 16-bit
/// checkpoints load in the compute dtype chosen at load, without going through fp32 when bf16 is asked for.
/// </summary>
public sealed class ReconstructedLayoutTests
{
    /// <summary>A copy of the fixture's config and weights in a temp folder, with tensor names and shapes rewritten.</summary>
    static TempFolder Rewritten(string fixture, Func<string, string> rename, Func<string, long[], long[]>? reshape = null)
    {
        var folder = new TempFolder();
        string source = ReferenceData.Model(fixture);
        File.Copy(Path.Combine(source, "config.json"), folder.File("config.json"));
        using var weights = CheckpointWeights.Open(source);
        var tensors = weights.Tensors.Select(t =>
        {
            long[] shape = reshape?.Invoke(t.Name, t.Shape) ?? t.Shape;
            byte[] data = shape.SequenceEqual(t.Shape) ? weights.Bytes(t.Name).ToArray() : new byte[shape.Aggregate(1L, (n, d) => n * d) * t.Dtype.Size()];
            return new TensorData(rename(t.Name), t.Dtype, shape, data);
        }).ToList();
        SafetensorsWriter.Write(folder.File("model.safetensors"), tensors);
        return folder;
    }

    [Fact]
    public void RetrievaWithMlpNamesOfAnotherConventionFailsNamingEveryTensor()
    {
        // The card's other plausible naming: mlp.gate_proj / mlp.up_proj / mlp.down_proj.
        using var folder = Rewritten("retrieva_bert", name =>
            Regex.Replace(name.Replace(".intermediate.", ".mlp."), @"(layer\.\d+)\.output\.dense", "$1.mlp.down_proj"));
        var e = Assert.Throws<EncoderKitException>(() => EncoderModel.Load(folder.Path));
        Assert.Equal(ErrorKind.BadCheckpoint, e.Kind);
        // Every expected name that is missing, and every stored name that matched nothing, in one message.
        for (int layer = 0; layer < 2; layer++)
        {
            foreach (string part in new[] { "gate_proj.weight", "gate_proj.bias", "up_proj.weight", "up_proj.bias" })
            {
                Assert.Contains($"bert.encoder.layer.{layer}.intermediate.{part}", e.Message);
                Assert.Contains($"bert.encoder.layer.{layer}.mlp.{part}", e.Message);
            }
            Assert.Contains($"bert.encoder.layer.{layer}.output.dense.weight", e.Message);
            Assert.Contains($"bert.encoder.layer.{layer}.mlp.down_proj.bias", e.Message);
        }
        Assert.Contains("12 tensor(s) the model needs are missing", e.Message);   // 2 layers × gate, up, down × weight, bias
        Assert.Contains("12 tensor(s) match nothing", e.Message);
        Assert.DoesNotContain("attention", e.Message);
    }

    [Fact]
    public void LlamaWithAHeadOfAnotherNameFailsNamingBothSides()
    {
        using var folder = Rewritten("llama_enc", name => name == "lm_head.weight" ? "cls.predictions.decoder.weight" : name);
        var e = Assert.Throws<EncoderKitException>(() => EncoderModel.Load(folder.Path));
        Assert.Contains("cls.predictions.decoder.weight", e.Message);   // stored, matches nothing
    }

    [Fact]
    public void LlamaWithKeyValueHeadsOfAnotherSizeFailsNamingTheTensorAndBothShapes()
    {
        using var folder = Rewritten("llama_enc", name => name, (name, shape) => name.EndsWith("k_proj.weight") ? [shape[0] * 2, shape[1]] : shape);
        var e = Assert.Throws<EncoderKitException>(() => EncoderModel.Load(folder.Path));
        Assert.Equal(ErrorKind.BadCheckpoint, e.Kind);
        Assert.Contains("model.layers.0.self_attn.k_proj.weight", e.Message + e.Field);
        Assert.Contains("[24, 24] + [24, 24] + [12, 24]", e.Message);
        Assert.Contains("expected [48, 24]", e.Message);
    }

    [Theory]
    [InlineData("llama_enc")]
    [InlineData("retrieva_bert")]
    public void Bf16CheckpointsLoadInTheComputeDtypeChosenAtLoad(string fixture)
    {
        using (var bf16 = EncoderModel.Load(ReferenceData.Model(fixture), new ComputeOptions { Dtype = ComputeDtype.BFloat16 }))
        {
            Assert.All(bf16.Network.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
            // Bit for bit what the file stores: nothing went through another dtype and back lossy.
            using var weights = CheckpointWeights.Open(ReferenceData.Model(fixture));
            string stored = weights.Tensors.First(t => t.Name.EndsWith("embed_tokens.weight") || t.Name.EndsWith("word_embeddings.weight")).Name;
            using Tensor word = bf16.Network.named_parameters().First(p => p.name == "embeddings.word").parameter;
            Assert.True(weights.Bytes(stored).SequenceEqual(word.bytes), "embedding bytes differ from the file's");
        }
        using var fp32 = EncoderModel.Load(ReferenceData.Model(fixture));
        Assert.All(fp32.Network.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }
}
