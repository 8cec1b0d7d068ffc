using System.CommandLine;
using System.Text.Json.Nodes;
using EncoderKit.Inference;
using EncoderKit.IO;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// <c>encoderkit choose --model M [--input FILE]</c>: multiple choice; each line of the file or standard input is one
/// JSON object {"question": …, "choices": [… at least two]}, and each answer one JSON line {"scores": [softmax over
/// the choices], "label": index of the best}, in input order.
/// </summary>
static class ChooseCommand
{
    public static Command Create(CliInvocation cli)
    {
        var model = new ModelOptions();
        var input = new Option<string?>("--input", "-i") { Description = "Read {\"question\", \"choices\"} JSON lines from this file (- or none for standard input)" };
        var noTruncate = new Option<bool>("--no-truncate") { Description = "Fail on a (question, choice) pair longer than the model takes, instead of truncating it with a warning" };
        var batchSize = new BatchSizeOption();
        var command = new Command("choose", "Pick the best of several choices with a multiple-choice model");
        model.AddTo(command);
        foreach (Option option in new Option[] { input, noTruncate, batchSize.Option }) command.Options.Add(option);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            List<ChoiceQuestion> questions = [.. TextInput.Lines(cli, parsed.GetValue(input)).Select(l => Parse(l.Line, l.Source, l.Number))];
            var limits = batchSize.Limits(parsed);
            using var encoder = await model.LoadAsync(parsed, cli, cancellationToken);
            var results = await new MultipleChoice(encoder, cli.Warnings).ChooseAsync(questions, limits,
                parsed.GetValue(noTruncate) ? OverlongInput.Error : OverlongInput.Truncate, cancellationToken);
            foreach (ChoiceScores answer in results) cli.Out.WriteLine(PipelineJson.Serialize(new { scores = answer.Scores, label = answer.Label }));
            return 0;
        });
        return command;
    }

    static ChoiceQuestion Parse(string text, string source, int number)
    {
        JsonObject line = JsonLines.ParseObject(text, source, number);
        string question = PipelineJson.String(line, "question", source, number);
        List<string> choices = line["choices"] is JsonArray items && items.All(x => x is JsonValue v && v.TryGetValue(out string? _))
            ? [.. items.Select(x => x!.GetValue<string>())]
            : throw new EncoderKitException(ErrorKind.BadInput, "\"choices\" must be a list of strings", source, $"line {number}");
        if (choices.Count < 2) throw new EncoderKitException(ErrorKind.BadInput, $"\"choices\" has {choices.Count}; a question needs at least two", source, $"line {number}");
        return new ChoiceQuestion(question, choices);
    }
}
