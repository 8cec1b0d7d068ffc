using EncoderKit.Modeling.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderKit.Training;

/// <summary>
/// Splits a network's parameters as transformers' Trainer does for AdamW: weight decay on weights, none on biases
/// and on normalisation layers' weights (LayerNorm and RMSNorm alike), which decay would pull towards zero scale.
/// </summary>
public static class WeightDecayGroups
{
    /// <summary>Two groups: the decayed parameters with <paramref name="weightDecay"/>, the rest with 0; trainable parameters only.</summary>
    public static IReadOnlyList<ParameterGroup> Split(nn.Module network, double weightDecay)
    {
        if (!(weightDecay >= 0)) throw new EncoderKitException(ErrorKind.BadInput, $"weight decay {weightDecay} is not ≥ 0", field: "weight_decay");
        // Norms are found by type, not by name: the internal names are ours, and a family's RMSNorm has no bias to give it away.
        var normPrefixes = network.named_modules().Where(m => m.module is Norm).Select(m => m.name + ".").ToList();
        var decayed = new List<(string, Parameter)>();
        var undecayed = new List<(string, Parameter)>();
        foreach (var (name, parameter) in network.named_parameters())
        {
            if (!parameter.requires_grad) continue;
            // Trainer's test is "bias" anywhere in the name, which also catches the MLM head's decoder bias.
            bool exempt = name.Contains("bias", StringComparison.Ordinal) || normPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));
            (exempt ? undecayed : decayed).Add((name, parameter));
        }
        return [new ParameterGroup(decayed, weightDecay), new ParameterGroup(undecayed, 0)];
    }
}
