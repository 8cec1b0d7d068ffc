using System.CommandLine;
using EncoderKit.Pretraining;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// `encoderkit average --output DIR CKPT1 CKPT2 … [--weights w1,w2,…]`: the parameter-wise mean of checkpoints
/// of one model (<see cref="CheckpointAveraging"/>), written as a model folder.
/// </summary>
static class AverageCommand
{
    public static Command Create(CliInvocation cli)
    {
        var checkpoints = new Argument<string[]>("checkpoints") { Description = "Checkpoint folders (or model.safetensors files) of the same model", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--output", "-o") { Description = "The folder to write the averaged model into", Required = true };
        var weights = new Option<string?>("--weights") { Description = "Comma-separated weights, one per checkpoint (default: uniform)" };
        var command = new Command("average", "Average the weights of several checkpoints of one model (uniform or weighted mean)") { checkpoints, output, weights };
        command.SetAction((parsed, _) =>
        {
            string[] folders = parsed.GetValue(checkpoints)!;
            double[]? parsedWeights = parsed.GetValue(weights) is { } list ? NumberList.Parse(list, "--weights") : null;
            CheckpointAveraging.Average(folders, parsed.GetValue(output)!, parsedWeights);
            cli.Out.WriteLine($"averaged {folders.Length} checkpoints into {parsed.GetValue(output)}");
            return Task.FromResult(0);
        });
        return command;
    }
}
