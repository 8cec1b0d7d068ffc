using System.CommandLine;
using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Training;
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
        var backward = new Option<bool>("--backward")
        {
            Description = "Also compute the head's loss from the labels in --inputs (labels, start_positions/end_positions, next_sentence_label, as transformers names them) with dropout off, and write loss and grad.<tensor name> for every parameter under the checkpoint's tensor names",
        };
        var command = new Command("forward", "Run the model on stored input ids and write its outputs (last_hidden_state and whichever heads it has: mlm_logits, pooler_output, nsp_logits, classifier_logits, token_logits, start_logits, end_logits, choice_logits) as float32 safetensors.");
        model.AddTo(command);
        command.Options.Add(inputs);
        command.Options.Add(output);
        command.Options.Add(hidden);
        command.Options.Add(backward);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            string outputFile = parsed.GetValue(output)!;
            if (Directory.Exists(outputFile))
                throw new EncoderKitException(ErrorKind.BadInput, "is a folder; give the name of the file to write", outputFile, "--output");
            using var encoder = await model.LoadAsync(parsed, cli, cancellationToken);
            string inputsFile = parsed.GetValue(inputs)!;
            using var source = SafetensorsFile.Open(inputsFile);
            using var scope = NewDisposeScope();
            Tensor ids = TorchTensors.Read(source, "input_ids");
            Tensor? mask = source.TryGet("attention_mask", out _) ? TorchTensors.Read(source, "attention_mask") : null;
            Tensor? types = source.TryGet("token_type_ids", out _) ? TorchTensors.Read(source, "token_type_ids") : null;
            Outputs wanted = Outputs.AllHeads | (parsed.GetValue(hidden) ? Outputs.HiddenStates : 0);
            if (!parsed.GetValue(backward))
            {
                using EncoderOutputs result = encoder.Forward(ids, mask, types, wanted);
                SafetensorsWriter.Write(outputFile, result.Named().Select(named => AsFloat32(named.Name, named.Value)));
                return 0;
            }
            var labels = LabelNames.Where(name => source.TryGet(name, out _)).ToDictionary(name => name, name => TorchTensors.Read(source, name).to(encoder.Device));
            if (labels.Count == 0)
                throw new EncoderKitException(ErrorKind.BadInput, $"--backward needs the loss's labels in the inputs file: one of {string.Join(", ", LabelNames)}", inputsFile);
            encoder.Network.eval();
            using (enable_grad())
            {
                using EncoderOutputs result = encoder.Network.Forward(ids.to(encoder.Device), mask?.to(encoder.Device), types?.to(encoder.Device), wanted);
                Tensor loss = TaskLoss.For(encoder.Spec.Heads, result, labels);
                loss.backward();
                var written = result.Named().Select(named => AsFloat32(named.Name, named.Value.detach()))
                    .Append(AsFloat32("loss", loss.detach()))
                    .Concat(encoder.NamedGradients().Select(named => AsFloat32("grad." + named.Name, named.Gradient)));
                SafetensorsWriter.Write(outputFile, written);
            }
            return 0;
        });
        return command;
    }

    // The label arguments of the transformers task classes' forward, each the loss of some head.
    static readonly string[] LabelNames = ["labels", "start_positions", "end_positions", "next_sentence_label"];

    // Each tensor goes from native memory to the file when its turn comes, so a model's gradients are never held twice.
    static StreamedTensor AsFloat32(string name, Tensor value) =>
        new(name, TensorDtype.F32, value.shape, stream =>
        {
            using Tensor stored = value.to_type(ScalarType.Float32).cpu().contiguous();
            TorchTensors.WriteStored(stored, stream);
        });
}
