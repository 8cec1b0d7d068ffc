using System.CommandLine;
using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling;
using static TorchSharp.torch;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// `encoderkit forward`: input ids in, every named output as float32 out. This is how parity with the reference
/// implementations is checked from outside the code, for every family.
/// </summary>
static class ForwardCommand
{
    public static Command Create(CliInvocation cli)
    {
        var model = new ModelOptions();
        var inputs = new Option<string>("--inputs") { Description = "safetensors file with input_ids [B, L], or [B, C, L] for a multiple-choice model (and attention_mask, token_type_ids shaped alike)", Required = true };
        var output = new Option<string>("--output") { Description = "safetensors file to write the outputs to", Required = true };
        var hidden = new Option<bool>("--hidden-states") { Description = "Also write hidden_states.0 … hidden_states.N" };
        var command = new Command("forward", "Run the model on stored input ids and write its outputs (last_hidden_state and whichever heads it has: mlm_logits, pooler_output, nsp_logits, classifier_logits, token_logits, start_logits, end_logits, choice_logits) as float32 safetensors.");
        model.AddTo(command);
        command.Options.Add(inputs);
        command.Options.Add(output);
        command.Options.Add(hidden);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            string outputFile = parsed.GetValue(output)!;
            if (Directory.Exists(outputFile))
                throw new EncoderKitException(ErrorKind.BadInput, "is a folder; give the name of the file to write", outputFile, "--output");
            using var encoder = await model.LoadAsync(parsed, cli, cancellationToken);
            using var source = SafetensorsFile.Open(parsed.GetValue(inputs)!);
            using var scope = NewDisposeScope();
            Tensor ids = TorchTensors.Read(source, "input_ids");
            Tensor? mask = source.TryGet("attention_mask", out _) ? TorchTensors.Read(source, "attention_mask") : null;
            Tensor? types = source.TryGet("token_type_ids", out _) ? TorchTensors.Read(source, "token_type_ids") : null;
            Outputs wanted = Outputs.AllHeads | (parsed.GetValue(hidden) ? Outputs.HiddenStates : 0);
            using EncoderOutputs result = encoder.Forward(ids, mask, types, wanted);
            var tensors = result.Named().Select(named =>
            {
                using Tensor f32 = named.Value.to_type(ScalarType.Float32);
                var (dtype, shape, data) = TorchTensors.ToStored(f32);
                return new TensorData(named.Name, dtype, shape, data);
            }).ToList();
            SafetensorsWriter.Write(outputFile, tensors);
            return 0;
        });
        return command;
    }
}
