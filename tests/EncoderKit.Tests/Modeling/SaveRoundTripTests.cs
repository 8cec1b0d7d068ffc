using System.Text.Json;
using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Modeling.Heads;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// Load → save → load for every reference fixture (found through its meta.json). Kept in the dtype it is stored in, a
/// model saves back the very file it was read from, byte for byte; converted, it saves what it computes with, and reloads to
/// exactly the same outputs. Either way config.json changes in nothing but torch_dtype, which names what was written.
/// </summary>
public sealed class SaveRoundTripTests
{
    public static TheoryData<string> Fixtures() => new(ReferenceFixtures.All);

    static string StoredDtype(string fixture) =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(ReferenceData.Model(fixture), "meta.json"))).RootElement.GetProperty("weights_dtype").GetString()!;

    static ComputeDtype Compute(string torchDtype) => torchDtype switch
    {
        "float32" => ComputeDtype.Float32,
        "bfloat16" => ComputeDtype.BFloat16,
        _ => throw new ArgumentOutOfRangeException(nameof(torchDtype), torchDtype, "no compute dtype for it"),
    };

    static Dictionary<string, (TensorDtype Dtype, long[] Shape, byte[] Bytes)> Tensors(string file)
    {
        using var source = SafetensorsFile.Open(file);
        return source.Tensors.ToDictionary(t => t.Name, t => (t.Dtype, t.Shape, source.Bytes(t.Name).ToArray()));
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void SavingInTheStoredDtypeWritesBackTheSameTensorsByteForByte(string fixture)
    {
        string original = ReferenceData.Model(fixture);
        string stored = StoredDtype(fixture);
        var compute = new ComputeOptions { Dtype = Compute(stored) };
        using var saved = new TempFolder();
        using (var model = EncoderModel.Load(original, compute))
            model.Save(saved.Path);

        var expected = Tensors(Path.Combine(original, "model.safetensors"));
        var written = Tensors(saved.File("model.safetensors"));
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), written.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, tensor) in expected)
        {
            Assert.Equal(tensor.Dtype, written[name].Dtype);
            Assert.Equal(tensor.Shape, written[name].Shape);
            Assert.True(tensor.Bytes.AsSpan().SequenceEqual(written[name].Bytes), $"{name} differs after load → save");
        }
        // Beyond the tensors: header order, metadata and padding as transformers' save_pretrained wrote them.
        Assert.True(File.ReadAllBytes(Path.Combine(original, "model.safetensors")).AsSpan().SequenceEqual(File.ReadAllBytes(saved.File("model.safetensors"))),
            "model.safetensors is not the file Python wrote, byte for byte");
        AssertConfigKeptBut(original, saved.Path, stored);

        using var first = EncoderModel.Load(original, compute);
        using var reloaded = EncoderModel.Load(saved.Path, compute);
        Assert.Equal(first.Spec.ToString(), reloaded.Spec.ToString());
        Assert.Equal(first.Spec.Heads.Get<ClassifierSpec>()?.LabelNames, reloaded.Spec.Heads.Get<ClassifierSpec>()?.LabelNames);
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void SavingInTheOtherDtypeReloadsToTheSameOutputs(string fixture)
    {
        string original = ReferenceData.Model(fixture);
        string other = StoredDtype(fixture) == "float32" ? "bfloat16" : "float32";
        var compute = new ComputeOptions { Dtype = Compute(other) };
        using var saved = new TempFolder();
        using var inputs = new Fixture(fixture);
        using var model = EncoderModel.Load(original, compute);
        model.Save(saved.Path);

        TensorDtype otherDtype = TorchTensors.ToTensorDtype(other == "float32" ? ScalarType.Float32 : ScalarType.BFloat16);
        Assert.All(Tensors(saved.File("model.safetensors")).Values, t => Assert.Equal(otherDtype, t.Dtype));
        AssertConfigKeptBut(original, saved.Path, other);
        using var reloaded = EncoderModel.Load(saved.Path, compute);
        using var scope = NewDisposeScope();
        // Multiple-choice inputs are [B, C, L]; any rows do to compare two models, so they run as B × C rows.
        Tensor ids = inputs.InputIds, mask = inputs.AttentionMask;
        Tensor? types = inputs.TokenTypeIds;
        long length = ids.shape[^1];
        using var before = model.Forward(ids.reshape(-1, length), mask.reshape(-1, length), types?.reshape(-1, length), Outputs.AllHeads | Outputs.HiddenStates);
        using var after = reloaded.Forward(ids.reshape(-1, length), mask.reshape(-1, length), types?.reshape(-1, length), Outputs.AllHeads | Outputs.HiddenStates);
        var afterByName = after.Named().ToDictionary(o => o.Name, o => o.Value);
        Assert.Equal(before.Named().Select(o => o.Name), afterByName.Keys);
        foreach (var (name, value) in before.Named())
            Assert.True(value.equal(afterByName[name]).all().item<bool>(), $"{name} differs after save in {other} → reload");
    }

    [Fact]
    public void NonFiniteConfigValuesAreWrittenAsPythonWritesThem()
    {
        // Python's json reads and writes NaN / Infinity as bare literals; a config holding one must save, not crash.
        using var folder = TempFolder.FromReference("bert");
        var config = JsonNode.Parse(File.ReadAllText(folder.File("config.json")))!.AsObject();
        config["custom_nan"] = 0; config["custom_inf"] = 0; config["custom_list"] = new JsonArray(1, 0);
        string text = config.ToJsonString().Replace("\"custom_nan\":0", "\"custom_nan\":NaN")
            .Replace("\"custom_inf\":0", "\"custom_inf\":-Infinity").Replace("[1,0]", "[1,Infinity]");
        File.WriteAllText(folder.File("config.json"), text);
        using var saved = new TempFolder();

        using (var model = EncoderModel.Load(folder.Path)) model.Save(saved.Path);

        string written = File.ReadAllText(saved.File("config.json"));
        Assert.Contains("\"custom_nan\": NaN", written);
        Assert.Contains("\"custom_inf\": -Infinity", written);
        Assert.Contains("Infinity", written.Split("\"custom_list\"")[1].Split(']')[0]);
        using var reloaded = EncoderModel.Load(saved.Path);
        Assert.True(double.IsNaN(reloaded.Config.Double("custom_nan", 0)));
        Assert.Equal(double.NegativeInfinity, reloaded.Config.Double("custom_inf", 0));
    }

    static void AssertConfigKeptBut(string originalFolder, string savedFolder, string torchDtype)
    {
        var original = JsonNode.Parse(File.ReadAllText(Path.Combine(originalFolder, "config.json")))!.AsObject();
        var saved = JsonNode.Parse(File.ReadAllText(Path.Combine(savedFolder, "config.json")))!.AsObject();
        Assert.Equal(torchDtype, saved["torch_dtype"]?.GetValue<string>());
        original["torch_dtype"] = torchDtype;
        Assert.True(JsonNode.DeepEquals(original, saved), $"config.json changed beyond torch_dtype:\n{saved}");
    }
}
