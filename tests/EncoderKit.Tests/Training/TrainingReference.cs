using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Training;

/// <summary>The recorded torch.optim.AdamW steps and transformers.get_scheduler curves (training/optim_schedules.json).</summary>
static class TrainingReference
{
    public static JsonObject Root { get; } = JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceData.Root, "training", "optim_schedules.json")))!.AsObject();

    /// <summary>A nested list of numbers as a float32 tensor (the file prints float32 values as exact decimals).</summary>
    public static Tensor Float32(JsonNode node) => tensor(Flatten(node).Select(v => (float)v).ToArray(), Shape(node));

    public static double[] Doubles(JsonNode node) => Flatten(node).ToArray();

    static IEnumerable<double> Flatten(JsonNode node) =>
        node is JsonArray array ? array.SelectMany(n => Flatten(n!)) : [node.GetValue<double>()];

    static long[] Shape(JsonNode node)
    {
        var shape = new List<long>();
        for (; node is JsonArray array; node = array[0]!) shape.Add(array.Count);
        return [.. shape];
    }
}
