using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using EncoderKit.IO;

namespace EncoderKit.Tests.Cli;

/// <summary>
/// Broken model folders and inputs through the CLI: each must end in one "encoderkit: ..." line naming the file
/// and the problem, exit code 2, and no stack trace — never a crash.
/// </summary>
public sealed class BadInputTests
{
    internal static Task<CliRunner.Result> ForwardAsync(TempFolder folder) =>
        CliRunner.RunAsync(["forward", "--model", folder.Path, "--inputs", Path.Combine(ReferenceData.Model("bert"), "inputs.safetensors"),
            "--output", folder.File("out.safetensors")]);

    /// <summary>Rewrites model.safetensors' header through <paramref name="edit"/>, keeping the data bytes.</summary>
    static void EditHeader(TempFolder folder, Action<JsonObject> edit)
    {
        byte[] bytes = File.ReadAllBytes(folder.File("model.safetensors"));
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength))!.AsObject();
        edit(header);
        byte[] newHeader = Encoding.UTF8.GetBytes(header.ToJsonString());
        using var file = File.Create(folder.File("model.safetensors"));
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)newHeader.Length);
        file.Write(length);
        file.Write(newHeader);
        file.Write(bytes.AsSpan(8 + headerLength));
    }

    /// <summary>Rewrites model.safetensors with <paramref name="change"/> applied to its tensor list.</summary>
    static void RewriteTensors(TempFolder folder, Func<List<TensorData>, List<TensorData>> change)
    {
        List<TensorData> tensors;
        using (var file = SafetensorsFile.Open(folder.File("model.safetensors")))
            tensors = file.Tensors.Select(t => new TensorData(t.Name, t.Dtype, t.Shape, file.Bytes(t.Name).ToArray())).ToList();
        SafetensorsWriter.Write(folder.File("model.safetensors"), change(tensors));
    }

    static void AssertNoOutput(TempFolder folder) => Assert.False(File.Exists(folder.File("out.safetensors")), "a failed run must not leave an output file");

    [Fact]
    public async Task TruncatedWeights()
    {
        using var folder = TempFolder.FromReference("bert");
        byte[] bytes = File.ReadAllBytes(folder.File("model.safetensors"));
        File.WriteAllBytes(folder.File("model.safetensors"), bytes[..(bytes.Length / 2)]);
        string line = (await ForwardAsync(folder)).AssertOneLineError();
        Assert.Contains("model.safetensors", line);
        AssertNoOutput(folder);
    }

    [Fact]
    public async Task HeaderThatLiesAboutOffsets()
    {
        using var folder = TempFolder.FromReference("bert");
        EditHeader(folder, h => h["bert.pooler.dense.bias"]!["data_offsets"] = new JsonArray(0, 1L << 40));
        string line = (await ForwardAsync(folder)).AssertOneLineError();
        Assert.Contains("bert.pooler.dense.bias", line);
        AssertNoOutput(folder);
    }

    [Fact]
    public async Task UnknownDtype()
    {
        using var folder = TempFolder.FromReference("bert");
        EditHeader(folder, h => h["bert.pooler.dense.bias"]!["dtype"] = "F8_E4M3");
        string line = (await ForwardAsync(folder)).AssertOneLineError();
        Assert.Contains("F8_E4M3", line);
        Assert.Contains("bert.pooler.dense.bias", line);
    }

    [Fact]
    public async Task MissingTensor()
    {
        using var folder = TempFolder.FromReference("bert");
        RewriteTensors(folder, ts => ts.Where(t => t.Name != "bert.encoder.layer.1.output.dense.weight").ToList());
        string line = (await ForwardAsync(folder)).AssertOneLineError();
        Assert.Contains("missing", line);
        Assert.Contains("bert.encoder.layer.1.output.dense.weight", line);
    }

    [Fact]
    public async Task WrongShape()
    {
        using var folder = TempFolder.FromReference("bert");
        RewriteTensors(folder, ts => ts.Select(t => t.Name == "bert.encoder.layer.0.intermediate.dense.weight"
            ? t with { Shape = [t.Shape[1], t.Shape[0]] } : t).ToList());
        string line = (await ForwardAsync(folder)).AssertOneLineError();
        Assert.Contains("bert.encoder.layer.0.intermediate.dense.weight", line);
        Assert.Contains("[64, 128]", line);   // what the file holds
        Assert.Contains("[128, 64]", line);   // what the config implies
    }

    [Fact]
    public async Task UnexpectedTensorsAreListed()
    {
        using var folder = TempFolder.FromReference("bert");
        RewriteTensors(folder, ts => [.. ts, new TensorData("bert.encoder.layer.0.attention.self.rotary.weight", TensorDtype.F32, [2], new byte[8])]);
        string line = (await ForwardAsync(folder)).AssertOneLineError();
        Assert.Contains("bert.encoder.layer.0.attention.self.rotary.weight", line);
    }

    [Fact]
    public async Task MalformedConfig()
    {
        using var folder = TempFolder.FromReference("bert");
        File.WriteAllText(folder.File("config.json"), "{ \"model_type\": \"bert\", \"hidden_size\": ");
        string line = (await ForwardAsync(folder)).AssertOneLineError();
        Assert.Contains("config.json", line);
        Assert.Contains("invalid JSON", line);
    }

    [Fact]
    public async Task ConfigValueOfTheWrongType()
    {
        using var folder = TempFolder.FromReference("bert");
        var config = JsonNode.Parse(File.ReadAllText(folder.File("config.json")))!;
        config["num_hidden_layers"] = "two";
        File.WriteAllText(folder.File("config.json"), config.ToJsonString());
        string line = (await ForwardAsync(folder)).AssertOneLineError();
        Assert.Contains("config.json: num_hidden_layers", line);
    }

    [Fact]
    public async Task UnknownFamilyListsTheSupportedOnes()
    {
        using var folder = TempFolder.FromReference("bert");
        var config = JsonNode.Parse(File.ReadAllText(folder.File("config.json")))!;
        config["model_type"] = "gpt2";
        File.WriteAllText(folder.File("config.json"), config.ToJsonString());
        string line = (await ForwardAsync(folder)).AssertOneLineError();
        Assert.Contains("gpt2", line);
        Assert.Contains("supported: bert", line);
    }

    [Fact]
    public async Task FolderWithoutWeights()
    {
        using var folder = new TempFolder();
        folder.CopyFrom(ReferenceData.Model("bert"), "config.json");
        string line = (await ForwardAsync(folder)).AssertOneLineError();
        Assert.Contains(folder.Path, line);
        Assert.Contains("model.safetensors", line);
    }

    [Fact]
    public async Task InputIdsOutsideTheVocabulary()
    {
        using var folder = TempFolder.FromReference("bert");
        byte[] ids = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(ids, 1_000_000);
        SafetensorsWriter.Write(folder.File("in.safetensors"), [new TensorData("input_ids", TensorDtype.I64, [1, 1], ids)]);
        var result = await CliRunner.RunAsync(["forward", "--model", folder.Path, "--inputs", folder.File("in.safetensors"), "--output", folder.File("out.safetensors")]);
        string line = result.AssertOneLineError();
        Assert.Contains("input_ids", line);
        AssertNoOutput(folder);
    }
}
