using System.CommandLine;
using EncoderKit.Inference;
using EncoderKit.Runtime;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// <c>encoderkit classify --model M [TEXT] [--pair TEXT] [--input FILE [--jsonl]] [--top-k N] [--function F] [--json]</c>:
/// one text (or pair), or one per line of a file or standard input. With --json each input's answer is one line in
/// the pipeline's shape: {label, score} by default, a list of them best first when --top-k is given.
/// </summary>
static class ClassifyCommand
{
    public static Command Create(CliInvocation cli)
    {
        var model = new ModelOptions();
        var text = new Argument<string?>("text") { Description = "Text to classify; without it, each line of --input (or standard input) is one text", Arity = ArgumentArity.ZeroOrOne };
        var pair = new Option<string?>("--pair") { Description = "Second text of a pair (NLI, similarity), with TEXT" };
        var input = new Option<string?>("--input", "-i") { Description = "Read texts from this file, one per line (- for standard input)" };
        var jsonl = new Option<bool>("--jsonl") { Description = "Read one JSON object per line: {\"text\": ..., \"text_pair\": ...}" };
        var topK = new Option<int?>("--top-k", "-k") { Description = "Labels per text, best first (default: the best one, printed as a single object)" };
        var function = new Option<string?>("--function") { Description = "sigmoid, softmax or none (default: none for regression, sigmoid for multi-label or one-label models, softmax otherwise)" };
        var batchSize = new BatchSizeOption();
        var json = new Option<bool>("--json") { Description = "Print the pipeline's JSON, one line per text" };
        var noTruncate = new Option<bool>("--no-truncate") { Description = "Fail on an input longer than the model takes, instead of truncating it with a warning" };
        var command = new Command("classify", "Classify texts or text pairs with a sequence-classification model");
        model.AddTo(command);
        command.Arguments.Add(text);
        foreach (Option option in new Option[] { pair, input, jsonl, topK, function, batchSize.Option, json, noTruncate }) command.Options.Add(option);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            string? single = parsed.GetValue(text), second = parsed.GetValue(pair);
            if (second is not null && single is null)
                throw new EncoderKitException(ErrorKind.BadInput, "--pair goes with a TEXT argument; for many pairs use --input with --jsonl", field: "--pair");
            ClassificationFunction? apply = parsed.GetValue(function) switch
            {
                null => null,
                "softmax" => ClassificationFunction.Softmax,
                "sigmoid" => ClassificationFunction.Sigmoid,
                "none" => ClassificationFunction.None,
                string other => throw new EncoderKitException(ErrorKind.BadInput, $"'{other}' is not one of sigmoid, softmax, none", field: "--function"),
            };
            BatchLimits limits = batchSize.Limits(parsed);
            List<InputText> texts = TextInput.Read(cli, single is null ? [] : [single], parsed.GetValue(input), parsed.GetValue(jsonl));
            if (texts.FindIndex(t => t.Ids is not null) is int tokenized and >= 0)
                throw new EncoderKitException(ErrorKind.BadInput, "classify takes texts, not input_ids", parsed.GetValue(input) ?? "stdin", $"line {texts[tokenized].Line}");
            using var encoder = await model.LoadAsync(parsed, cli, cancellationToken);
            var classifier = new TextClassifier(encoder, cli.Warnings);
            int? k = parsed.GetValue(topK);
            var results = await classifier.ClassifyAsync(texts.Select(t => new TextToClassify(t.Text, t.Pair ?? second)).ToList(), k ?? 1, apply,
                limits, parsed.GetValue(noTruncate) ? OverlongInput.Error : OverlongInput.Truncate, cancellationToken);
            TextWriter output = cli.Out;
            foreach (var (scores, t) in results.Zip(texts))
            {
                if (parsed.GetValue(json))
                {
                    // As the pipeline: without top_k one {label, score}; with it a list, best first.
                    var shaped = scores.Select(s => new { label = s.Label, score = s.Score }).ToList();
                    output.WriteLine(k is null ? PipelineJson.Serialize(shaped[0]) : PipelineJson.Serialize(shaped));
                    continue;
                }
                if (results.Length > 1) output.WriteLine($"text {t.Line}:");
                foreach (LabelScore s in scores) output.WriteLine($"{s.Score,10:F4}  {s.Label}");
            }
            return 0;
        });
        return command;
    }
}
