using System.Text.Json;
using EncoderKit.IO;
using static EncoderKit.Tests.IO.TestFiles;

namespace EncoderKit.Tests.IO;

/// <summary>
/// A model folder's weights, whole or sharded: read as one set of tensors, and every disagreement between
/// index and shards, or a folder without usable weights, is an error naming the file and tensor.
/// </summary>
public sealed class CheckpointWeightsTests : IDisposable
{
    const string First = "model-00001-of-00002.safetensors";
    const string Second = "model-00002-of-00002.safetensors";

    readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void SingleFileFolderIsThatFile()
    {
        string folder = ReferenceData.Model("bert");
        using var weights = CheckpointWeights.Open(folder);
        using var file = SafetensorsFile.Open(Path.Combine(folder, "model.safetensors"));

        Assert.Single(weights.Files);
        Assert.Null(weights.IndexMetadata);
        Assert.Equal(file.Tensors.Select(t => t.Name), weights.Tensors.Select(t => t.Name));
        foreach (TensorInfo tensor in file.Tensors)
            Assert.True(file.Bytes(tensor.Name).SequenceEqual(weights.Bytes(tensor.Name)), tensor.Name);
    }

    [Fact]
    public void ShardedCheckpointReadsBackEveryTensor()
    {
        TensorData[] first = [Counting("encoder.0.weight", TensorDtype.F32, 4, 2), Counting("embeddings", TensorDtype.BF16, 5, 2)];
        TensorData[] second = [Counting("encoder.1.weight", TensorDtype.F32, 4, 2), Counting("head.bias", TensorDtype.F32, 3)];
        SafetensorsWriter.Write(temp.File(First), first, new Dictionary<string, string> { ["format"] = "pt" });
        SafetensorsWriter.Write(temp.File(Second), second, new Dictionary<string, string> { ["format"] = "pt" });
        WriteIndex(first.Select(t => (t.Name, First)).Concat(second.Select(t => (t.Name, Second))));

        using var weights = CheckpointWeights.Open(temp.Path);

        Assert.Equal([temp.File(First), temp.File(Second)], weights.Files.Select(f => f.Path));
        Assert.Equal(96, weights.IndexMetadata!["total_size"].GetInt64());
        Assert.Equal(4, weights.Tensors.Count);
        foreach (TensorData tensor in first.Concat(second))
        {
            Assert.True(weights.TryGet(tensor.Name, out TensorInfo? info));
            Assert.Equal(tensor.Dtype, info.Dtype);
            Assert.Equal(tensor.Shape, info.Shape);
            Assert.Equal(tensor.Data.ToArray(), weights.Bytes(tensor.Name).ToArray());
        }
        Assert.Equal(second[1].Data.Span[5], weights.Bytes("head.bias", 5, 1)[0]);
    }

    [Fact]
    public void MissingShardIsNamed()
    {
        SafetensorsWriter.Write(temp.File(First), [Counting("a", TensorDtype.F32, 1)]);
        WriteIndex([("a", First), ("b", Second)]);

        var error = Fails(ErrorKind.MissingFile, () => CheckpointWeights.Open(temp.Path), "shard listed in model.safetensors.index.json does not exist");
        Assert.Equal(temp.File(Second), error.File);
    }

    [Fact]
    public void TensorListedButAbsentFromItsShardIsNamed()
    {
        SafetensorsWriter.Write(temp.File(First), [Counting("a", TensorDtype.F32, 1)]);
        WriteIndex([("a", First), ("encoder.b", First)]);

        var error = Fails(ErrorKind.BadCheckpoint, () => CheckpointWeights.Open(temp.Path),
            "lists it in this shard, but the shard does not hold it", field: "encoder.b");
        Assert.Equal(temp.File(First), error.File);
    }

    [Fact]
    public void TensorStoredInAShardTheIndexDoesNotMapItToIsNamed()
    {
        SafetensorsWriter.Write(temp.File(First), [Counting("a", TensorDtype.F32, 1), Counting("b", TensorDtype.F32, 1)]);
        SafetensorsWriter.Write(temp.File(Second), [Counting("b", TensorDtype.F32, 1)]);
        WriteIndex([("a", First), ("b", Second)]);

        var error = Fails(ErrorKind.BadCheckpoint, () => CheckpointWeights.Open(temp.Path),
            $"stored in this shard, but model.safetensors.index.json maps it to {Second}", field: "b");
        Assert.Equal(temp.File(First), error.File);
    }

    [Fact]
    public void TensorStoredInAShardButNotListedIsNamed()
    {
        SafetensorsWriter.Write(temp.File(First), [Counting("a", TensorDtype.F32, 1), Counting("stray", TensorDtype.F32, 1)]);
        WriteIndex([("a", First)]);

        Fails(ErrorKind.BadCheckpoint, () => CheckpointWeights.Open(temp.Path),
            "stored in this shard, but model.safetensors.index.json does not list it", field: "stray");
    }

    [Fact]
    public void ShardOutsideTheFolderIsRefused()
    {
        WriteIndex([("a", "../elsewhere.safetensors")]);

        Fails(ErrorKind.BadCheckpoint, () => CheckpointWeights.Open(temp.Path), "is not a file name in the model folder", field: "weight_map");
    }

    [Theory]
    [InlineData("{\"weight_map\":", "invalid JSON", null)]
    [InlineData("[]", "expected a JSON object", null)]
    [InlineData("{\"metadata\":{}}", "expected an object mapping tensor names to shard files", "weight_map")]
    [InlineData("{\"weight_map\":{\"a\":1}}", "weight_map entry is 1, expected a shard file name", "a")]
    [InlineData("{\"weight_map\":{\"a\":\"x\",\"a\":\"x\"}}", "listed twice in weight_map", "a")]
    [InlineData("{\"metadata\":[],\"weight_map\":{}}", "expected an object", "metadata")]
    public void MalformedIndexIsNamed(string json, string problem, string? field)
    {
        File.WriteAllText(temp.File(CheckpointWeights.IndexFileName), json);

        var error = Fails(ErrorKind.BadCheckpoint, () => CheckpointWeights.Open(temp.Path), problem, field);
        Assert.Equal(temp.File(CheckpointWeights.IndexFileName), error.File);
    }

    [Fact]
    public void FolderWithoutWeightsSaysWhatWasLookedFor()
    {
        File.WriteAllText(temp.File("config.json"), "{}");

        var error = Fails(ErrorKind.MissingFile, () => CheckpointWeights.Open(temp.Path),
            "no model.safetensors or model.safetensors.index.json: the folder holds no model weights");
        Assert.Equal(temp.Path, error.File);
    }

    [Fact]
    public void FolderWithOnlyPickleWeightsSaysTheyAreNotLoaded()
    {
        File.WriteAllBytes(temp.File("pytorch_model.bin"), [0x80, 0x02]);

        Fails(ErrorKind.MissingFile, () => CheckpointWeights.Open(temp.Path),
            "found only PyTorch pickle weights (pytorch_model.bin), which are not loaded by default");
    }

    [Fact]
    public void MissingFolderIsMissingFile() =>
        Fails(ErrorKind.MissingFile, () => CheckpointWeights.Open(temp.File("absent")), "model folder does not exist");

    [Fact]
    public void UnknownTensorIsNamed()
    {
        SafetensorsWriter.Write(temp.File("model.safetensors"), [Counting("a", TensorDtype.F32, 1)]);
        using var weights = CheckpointWeights.Open(temp.Path);

        Fails(ErrorKind.BadCheckpoint, () => weights.Bytes("b"), "no tensor of this name in the checkpoint", field: "b");
    }

    void WriteIndex(IEnumerable<(string Tensor, string Shard)> weightMap)
    {
        var index = new
        {
            metadata = new { total_size = 96 },
            weight_map = weightMap.ToDictionary(e => e.Tensor, e => e.Shard),
        };
        File.WriteAllText(temp.File(CheckpointWeights.IndexFileName), JsonSerializer.Serialize(index));
    }
}
