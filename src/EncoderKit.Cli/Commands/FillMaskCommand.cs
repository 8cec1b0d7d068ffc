using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using EncoderKit.Inference;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// `encoderkit fill-mask --model M TEXT [--top-k N] [--json] [--no-truncate]`. With --json the output has the
/// Hugging Face pipeline's shape: a list of {score, token, token_str, sequence}, or a list of such lists when
/// the text has several masks.
/// </summary>
static class FillMaskCommand
{
    static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true };

    public static Command Create(CliInvocation cli)
    {
        var model = new ModelOptions();
        var text = new Argument<string>("text") { Description = "Text with one or more mask tokens, e.g. \"Hello I'm a [MASK] model.\"" };
        var topK = new Option<int>("--top-k", "-k") { Description = "Candidates per mask", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "Print the pipeline's JSON" };
        var noTruncate = new Option<bool>("--no-truncate") { Description = "Fail on a text longer than the model takes, instead of truncating it with a warning" };
        var command = new Command("fill-mask", "Predict the tokens behind each mask in a text");
        model.AddTo(command);
        command.Arguments.Add(text);
        command.Options.Add(topK);
        command.Options.Add(json);
        command.Options.Add(noTruncate);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var encoder = await model.LoadAsync(parsed, cli, cancellationToken);
            var predictions = new FillMask(encoder, cli.Warnings).Predict(parsed.GetValue(text)!, parsed.GetValue(topK),
                parsed.GetValue(noTruncate) ? OverlongInput.Error : OverlongInput.Truncate);
            TextWriter output = cli.Out;
            if (parsed.GetValue(json))
            {
                var rows = predictions.Select(mask => mask.Select(c => new { score = c.Score, token = c.Token, token_str = c.TokenStr, sequence = c.Sequence }).ToList()).ToList();
                output.WriteLine(rows.Count == 1 ? JsonSerializer.Serialize(rows[0], Json) : JsonSerializer.Serialize(rows, Json));
                return 0;
            }
            for (int m = 0; m < predictions.Count; m++)
            {
                if (predictions.Count > 1) output.WriteLine($"mask {m + 1}:");
                foreach (FillMaskCandidate c in predictions[m])
                    output.WriteLine($"{c.Score,8:F4}  {c.TokenStr,-16}  {c.Sequence}");
            }
            return 0;
        });
        return command;
    }
}
