using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using EncoderKit.Inference;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// `encoderkit fill-mask --model M [TEXT | --input FILE] [--top-k N] [--json] [--no-truncate]`: one text, or one per line of
/// a file or standard input. With --json the output has the
/// Hugging Face pipeline's shape: a list of {score, token, token_str, sequence}, or a list of such lists when
/// the text has several masks.
/// </summary>
static class FillMaskCommand
{
    static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true };

    public static Command Create(CliInvocation cli)
    {
        var model = new ModelOptions();
        var text = new Argument<string?>("text") { Description = "Text with one or more mask tokens, e.g. \"Hello I'm a [MASK] model.\"; without it, each line of --input (or standard input) is one text", Arity = ArgumentArity.ZeroOrOne };
        var input = new Option<string?>("--input", "-i") { Description = "Read texts from this file, one per line (- for standard input)" };
        var topK = new Option<int>("--top-k", "-k") { Description = "Candidates per mask", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "Print the pipeline's JSON" };
        var noTruncate = new Option<bool>("--no-truncate") { Description = "Fail on a text longer than the model takes, instead of truncating it with a warning" };
        var command = new Command("fill-mask", "Predict the tokens behind each mask in a text");
        model.AddTo(command);
        command.Arguments.Add(text);
        command.Options.Add(input);
        command.Options.Add(topK);
        command.Options.Add(json);
        command.Options.Add(noTruncate);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            string? single = parsed.GetValue(text);
            List<InputText> texts = TextInput.Read(cli, single is null ? [] : [single], parsed.GetValue(input), jsonl: false);
            using var encoder = await model.LoadAsync(parsed, cli, cancellationToken);
            var fillMask = new FillMask(encoder, cli.Warnings);
            var results = texts.Select(t => fillMask.Predict(t.Text, parsed.GetValue(topK),
                parsed.GetValue(noTruncate) ? OverlongInput.Error : OverlongInput.Truncate)).ToList();
            TextWriter output = cli.Out;
            if (parsed.GetValue(json))
            {
                // Per text, as the pipeline: a list of candidates, or a list of such lists when the text has several masks;
                // for several texts, a list of those.
                object Shape(IReadOnlyList<IReadOnlyList<FillMaskCandidate>> predictions)
                {
                    var rows = predictions.Select(mask => mask.Select(c => new { score = c.Score, token = c.Token, token_str = c.TokenStr, sequence = c.Sequence }).ToList()).ToList();
                    return rows.Count == 1 ? rows[0] : rows;
                }
                output.WriteLine(results.Count == 1 ? JsonSerializer.Serialize(Shape(results[0]), Json) : JsonSerializer.Serialize(results.Select(Shape), Json));
                return 0;
            }
            for (int t = 0; t < results.Count; t++)
            {
                var predictions = results[t];
                if (results.Count > 1) output.WriteLine($"text {texts[t].Line}:");
                for (int m = 0; m < predictions.Count; m++)
                {
                    if (predictions.Count > 1) output.WriteLine($"mask {m + 1}:");
                    foreach (FillMaskCandidate c in predictions[m])
                        output.WriteLine($"{c.Score,8:F4}  {c.TokenStr,-16}  {c.Sequence}");
                }
            }
            return 0;
        });
        return command;
    }
}
